using System.Globalization;
using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>
/// nn.LayerNorm against PyTorch 1.13: Nn.Tests/References/layernorm.safetensors holds the output and every gradient for
/// five inputs: with and without weight and bias, a 3-d input with eps 1e-3, a row of one constant value (variance 0),
/// and rows far from zero (mean 1000, spread 1), where a one-pass variance would fail.
/// </summary>
/// <remarks>
/// Tolerances, relative to the largest reference value of each tensor: 1e-12 in float64 (the same two-pass arithmetic
/// in another order); 1e-5 in float32 (inputs rounded to float32, sums of at most 40 terms of ~6e-8 error each), but
/// 1e-4 for the rows far from zero, where rounding x ≈ 1000 to float32 moves each deviation from the mean by up to 3e-5.
/// </remarks>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class LayerNormTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("layernorm.safetensors");

    private static IEnumerable<string> Cases() => Reference.Metadata.Keys.Where(k => k != "torch").Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackward_MatchPyTorch(string name)
    {
        var file = Reference;
        double eps = double.Parse(file.Metadata[name], CultureInfo.InvariantCulture);
        bool affine = file.Find(name + ".weight") is not null;
        using var x = OnDevice(ReferenceFiles.Read(file, name + ".x"));
        x.RequiresGrad = true;
        using var dy = OnDevice(ReferenceFiles.Read(file, name + ".dy"));
        int cols = x.Shape[^1];
        using var norm = new LayerNorm(cols, eps, affine, dtype: DType);
        if (affine) norm.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = ReferenceFiles.Read(file, name + ".weight"), ["bias"] = ReferenceFiles.Read(file, name + ".bias") });
        norm.To(Device);

        // A first pass on other values fills the layer's buffers and gradients, so the pass checked overwrites them.
        using var other = OnDevice(Tensor.FromArray(Enumerable.Range(0, (int)x.Numel).Select(i => Math.Sin(i)).ToArray(), x.Shape.ToArray()));
        other.RequiresGrad = true;
        norm.Backward(norm.Forward(other));
        norm.ZeroGrad();
        var y = norm.Forward(x);
        var dx = norm.Backward(dy)!;

        double tolerance = Exact ? 1e-12 : name == "far-from-zero" ? 1e-4 : 1e-5;
        ReferenceFiles.Compare(file, name + ".y", y, tolerance);
        ReferenceFiles.Compare(file, name + ".dx", dx, tolerance);
        if (!affine)
        {
            Assert.That(norm.Parameters(), Is.Empty, "no weight or bias without elementwise_affine");
            return;
        }
        ReferenceFiles.Compare(file, name + ".dweight", norm.Weight!.Grad, tolerance);
        ReferenceFiles.Compare(file, name + ".dbias", norm.Bias!.Grad, tolerance);

        // Gradients accumulate until zero_grad, as in PyTorch.
        norm.Forward(x);
        norm.Backward(dy);
        double[] twice = file.Get(name + ".dbias").ToDoubleArray().Select(v => 2 * v).ToArray();
        Close.Assert(twice, ReferenceFiles.Values(norm.Bias.Grad), tolerance * twice.Max(Math.Abs), 0, "dbias after two backward passes");
    }

    [Test]
    public void BadUse_IsRefusedWithAClearMessage()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LayerNorm(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new LayerNorm(4, eps: -1));
        using var norm = new LayerNorm(4);
        norm.To(DType).To(Device);
        using var wrong = OnDevice(Tensor.Zeros([2, 5], DType.Float64));
        Assert.That(Assert.Throws<ArgumentException>(() => norm.Forward(wrong))!.Message, Does.Contain("[..., 4]").And.Contain("[2, 5]"));
        using var gradient = OnDevice(Tensor.Zeros([2, 4], DType.Float64));
        Assert.That(Assert.Throws<InvalidOperationException>(() => norm.Backward(gradient))!.Message, Does.Contain("before Forward"));
        Assert.That(norm.ToString(), Is.EqualTo("LayerNorm((4,), eps=1e-05, elementwise_affine=True)"));
        Assert.That(new LayerNorm(3, 0.001, elementwiseAffine: false).ToString(), Is.EqualTo("LayerNorm((3,), eps=0.001, elementwise_affine=False)"));
    }
}
