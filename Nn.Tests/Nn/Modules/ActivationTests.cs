using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>
/// Every activation module against PyTorch 1.13: Nn.Tests/References/activations.safetensors holds each one's output
/// and input gradient at 103 points from -700 to 30 (both tails, zero, a dense sweep of [-12, 12]).
/// </summary>
/// <remarks>
/// Tolerances, relative to the largest reference value of each tensor: 1e-12 in float64 (PyTorch's formulas; GELU's erf
/// is our own series, within a few units of 2^-52); 2e-6 in float32 (the inputs rounded to float32, 6e-8 relative, times
/// slopes near 1, and the device's expf, tanhf and erff within 2 ulp).
/// </remarks>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class ActivationTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("activations.safetensors");

    // Every activation a model is built with (so a new one needs its reference values), and leaky ReLU's slope set twice.
    private static IEnumerable<string> Names() => Activation.Nonlinear.Select(a => a.ToString()).Concat(["leaky_relu:0.2", "leaky_relu:-1.5"]);

    [Test]
    public void ForwardAndBackward_MatchPyTorch([ValueSource(nameof(Names))] string name)
    {
        var file = Reference;
        using var module = Activation.Parse(name).NewModule();
        using var x = OnDevice(ReferenceFiles.Read(file, "x"));
        x.RequiresGrad = true;
        using var dy = OnDevice(ReferenceFiles.Read(file, "dy"));

        // A first pass on other values fills the module's buffers, so the pass checked overwrites them.
        using var other = OnDevice(Tensor.FromArray(Enumerable.Repeat(0.375, x.Shape[0]).ToArray(), [x.Shape[0]]));
        other.RequiresGrad = true;
        module.Backward(module.Forward(other));
        var y = module.Forward(x);
        var dx = module.Backward(dy)!;

        double tolerance = Exact ? 1e-12 : 2e-6;
        ReferenceFiles.Compare(file, name + ".y", y, tolerance);
        ReferenceFiles.Compare(file, name + ".dx", dx, tolerance);
    }

    [Test]
    public void GeluAndSilu_RunBesideTheirLinear_NotFusedIntoIt()
    {
        // Their backward needs the input, which a fused bias pass would overwrite: Sequential runs them as passes of
        // their own and gives what the modules give one after the other.
        var g = new Generator(5);
        using var fc = new Linear(6, 4, generator: g);
        using var gelu = new GELU();
        using var model = new Sequential(fc, gelu);
        model.To(DType).To(Device);
        using var x = OnDevice(Tensor.FromArray(Enumerable.Range(0, 18).Select(i => i * 0.1 - 0.9).ToArray(), [3, 6]));
        double[] together = ReferenceFiles.Values(model.Forward(x));
        double[] apart = ReferenceFiles.Values(gelu.Forward(fc.Forward(x)));
        Assert.That(together, Is.EqualTo(apart));
        Assert.That(new SiLU().ToString(), Is.EqualTo("SiLU()"));
        Assert.That(gelu.ToString(), Is.EqualTo("GELU(approximate='none')"));
    }
}
