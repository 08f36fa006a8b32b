using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Optim;

/// <summary>
/// clip_grad_norm_ and clip_grad_value_ against PyTorch 1.13: Nn.Tests/References/clipping.safetensors holds three
/// gradients (5x7, 7 and 3x5, one element 1e3), and for each case the gradients after clipping and the norm returned.
/// Each case runs on separate gradients and on gradients an optimizer packed into one buffer (one launch on a GPU).
/// </summary>
/// <remarks>
/// Tolerances, relative to the largest value of each reference tensor: 1e-12 in float64 (the same sums in another
/// order); 1e-6 in float32 (inputs rounded to float32, ~6e-8 each, then one multiply by a coefficient that inherits the
/// norm's rounding). Value clipping moves no value but to the bound: exact in float64, and in float32 off only by the
/// inputs' rounding to float32 (1e-7).
/// </remarks>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class GradClippingTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("clipping.safetensors");

    private static readonly Dictionary<string, Func<IEnumerable<Parameter>, Tensor?>> Cases = new()
    {
        ["norm-1"] = ps => GradClipping.ClipGradNorm(ps, 1.0),
        ["norm-10000"] = ps => GradClipping.ClipGradNorm(ps, 1e4),
        ["norm-0"] = ps => GradClipping.ClipGradNorm(ps, 0.0),
        ["value-0.3"] = ps =>
        {
            GradClipping.ClipGradValue(ps, 0.3);
            return null;
        },
    };

    [Test]
    public void EveryCase_MatchesPyTorch([ValueSource(nameof(CaseNames))] string name, [Values] bool packedByAnOptimizer)
    {
        var file = Reference;
        var parameters = Enumerable.Range(0, 3).Select(i => NewParameter(file.Get($"grad.{i}"))).ToList();
        using var optimizer = packedByAnOptimizer ? new SGD(parameters) : null;
        for (int i = 0; i < 3; i++)
        {
            using var grad = OnDevice(ReferenceFiles.Read(file, $"grad.{i}"));
            grad.Backend.Copy(grad, parameters[i].Grad);
        }

        using var norm = Cases[name](parameters);

        double tolerance = name.StartsWith("value", StringComparison.Ordinal) ? (Exact ? 0 : 1e-7) : Exact ? 1e-12 : 1e-6;
        if (norm is not null) ReferenceFiles.Compare(file, name + ".norm", norm, tolerance);
        for (int i = 0; i < 3; i++) ReferenceFiles.Compare(file, $"{name}.grad.{i}", parameters[i].Grad, tolerance);
    }

    [Test]
    public void ANaNGradient_MakesTheNormAndEveryGradientNaN_AsInPyTorch()
    {
        var a = NewParameter(1, 2, 3);
        var b = NewParameter(4, double.NaN);
        using var norm = GradClipping.ClipGradNorm([a, b], 1.0);

        Assert.That(ReferenceFiles.Values(norm), Has.All.NaN);
        Assert.That(ReferenceFiles.Values(a.Grad).Concat(ReferenceFiles.Values(b.Grad)), Has.All.NaN, "clip_grad_norm_ scales by a NaN coefficient");

        var c = NewParameter(double.NaN, -5, 0.1, double.PositiveInfinity);
        GradClipping.ClipGradValue([c], 1);
        double[] clamped = ReferenceFiles.Values(c.Grad);
        Assert.That(clamped[0], Is.NaN);
        Assert.That(clamped[1..], Is.EqualTo(new[] { -1, 0.1, 1 }).Within(1e-7), "clamped to [-1, 1], 0.1 untouched");
    }

    [Test]
    public void TheNorm_IsTheSameBitsEveryTime()
    {
        var random = Seeded.Generator(31);
        var parameters = new[] { 40000, 17, 16385 }.Select(n => NewParameter(Seeded.Uniform(random, n))).ToList();
        var norms = Enumerable.Range(0, 3).Select(_ =>
        {
            using var norm = GradClipping.ClipGradNorm(parameters, double.PositiveInfinity);
            return ReferenceFiles.Values(norm)[0];
        }).ToArray();
        TestContext.Out.WriteLine($"seed 31: norm {norms[0]:R}");
        Assert.That(norms, Has.All.EqualTo(norms[0]));
        double expected = Math.Sqrt(parameters.Sum(p => ReferenceFiles.Values(p.Grad).Sum(v => v * v)));
        Close.Assert(expected, norms[0], 0, Exact ? 1e-13 : 1e-7, "the norm of 56,402 gradients");
    }

    [Test]
    public void BadArguments_AreRefusedNamingTheProblem()
    {
        var a = NewParameter(1, 2);
        Assert.That(() => GradClipping.ClipGradNorm([a], -1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("0 or above"));
        Assert.That(() => GradClipping.ClipGradNorm([a], double.NaN), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => GradClipping.ClipGradValue([a], -0.5), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("ClipGradValue"));
        using var wide = Tensor.Zeros([2], DType, Device);
        Assert.That(() => GradClipping.ClipGradNorm([a], 1, wide), Throws.ArgumentException.With.Message.Contains("one element"));
        if (Device != CudaNn.Device.Cpu)
        {
            var onCpu = new Parameter(Tensor.Zeros([2]));
            Assert.That(() => GradClipping.ClipGradNorm([a, onCpu], 1), Throws.ArgumentException.With.Message.Contains("several devices"));
        }
        Assert.That(ReferenceFiles.Values(a.Grad), Is.EqualTo(new[] { 1.0, 2.0 }), "a refused clip changes nothing");
    }

    private static IEnumerable<string> CaseNames() => Cases.Keys;

    private Parameter NewParameter(SafetensorsEntry shapeOf) =>
        new(OnDevice(Tensor.Zeros(shapeOf.Shape.Select(d => (int)d).ToArray(), DType.Float64)));

    /// <summary>A parameter on the fixture's device whose gradient holds <paramref name="grad"/>.</summary>
    private Parameter NewParameter(params double[] grad)
    {
        var p = new Parameter(OnDevice(Tensor.Zeros([grad.Length], DType.Float64)));
        using var values = OnDevice(Tensor.FromArray(grad, [grad.Length]));
        values.Backend.Copy(values, p.Grad);
        return p;
    }
}
