using CudaNn.Backends;
using CudaNn.Nn;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;
using CudaNn.Verification;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>
/// Analytic gradients of every module against float64 central differences: max relative error below 1e-6, on the
/// reference backend (the oracle's own gradients) and on the fast CPU backend.
/// </summary>
[TestFixture("reference")]
[TestFixture("cpu")]
public class GradCheckTests(string deviceName)
{
    private const double MaxRelativeError = 1e-6;
    private readonly Device _device = Device.Parse(deviceName);

    private IReadOnlyList<GradCheckResult> Check(Module module, Tensor input, Generator g)
    {
        module.To(_device);
        Assert.That(module.Parameters().Select(p => p.Value.Device), Is.All.SameAs(_device), "the module computes on the fixture's device");
        return GradCheck.Module(module, input.To(_device), g);
    }

    private static readonly object[] LinearShapes =
    [
        new[] { 1, 1, 1 }, new[] { 1, 5, 3 }, new[] { 4, 3, 7 }, new[] { 7, 6, 2 }, new[] { 3, 10, 10 },
    ];

    [TestCaseSource(nameof(LinearShapes))]
    public void Linear_MatchesFiniteDifferences(int[] shape)
    {
        var (batch, inFeatures, outFeatures) = (shape[0], shape[1], shape[2]);
        var g = Seeded.Generator(1000 + (ulong)(batch * 100 + inFeatures * 10 + outFeatures));
        using var layer = new Linear(inFeatures, outFeatures, dtype: DType.Float64, generator: g);
        AssertAllPass(Check(layer, Seeded.Tensor64(g, batch, inFeatures), g));
    }

    [TestCase(1, 1, true)]
    [TestCase(4, 7, true)]
    [TestCase(3, 33, false)]
    public void LayerNorm_MatchesFiniteDifferences(int rows, int cols, bool affine)
    {
        var g = Seeded.Generator(1500 + (ulong)(rows * 100 + cols));
        using var norm = new LayerNorm(cols, elementwiseAffine: affine, dtype: DType.Float64);
        // Weight and bias away from their initial ones and zeros, so their gradients are checked at a general point.
        if (affine)
            norm.LoadStateDict(new Dictionary<string, Tensor>
            {
                ["weight"] = Tensor.FromArray(Seeded.Uniform(g, cols, 0.5, 1.5), [cols]),
                ["bias"] = Tensor.FromArray(Seeded.Uniform(g, cols), [cols]),
            });
        var results = Check(norm, Seeded.Tensor64(g, rows, cols), g);
        Assert.That(results.Select(r => r.Name), Is.EqualTo(affine ? new[] { "weight", "bias", "input" } : new[] { "input" }));
        AssertAllPass(results);
    }

    [Test]
    public void LinearWithoutBias_MatchesFiniteDifferences()
    {
        var g = Seeded.Generator(7);
        using var layer = new Linear(5, 4, bias: false, dtype: DType.Float64, generator: g);
        var results = Check(layer, Seeded.Tensor64(g, 3, 5), g);
        Assert.That(results.Select(r => r.Name), Is.EqualTo(new[] { "weight", "input" }));
        AssertAllPass(results);
    }

    [TestCase("relu", 1, 1)]
    [TestCase("relu", 5, 7)]
    [TestCase("sigmoid", 1, 3)]
    [TestCase("sigmoid", 6, 5)]
    [TestCase("tanh", 1, 3)]
    [TestCase("tanh", 4, 9)]
    [TestCase("gelu", 1, 3)]
    [TestCase("gelu", 5, 6)]
    [TestCase("silu", 1, 3)]
    [TestCase("silu", 6, 4)]
    [TestCase("leaky_relu:0.2", 5, 7)]
    [TestCase("leaky_relu:-1.5", 3, 4)]
    public void Activation_MatchesFiniteDifferences(string name, int rows, int cols)
    {
        var g = Seeded.Generator(2000 + (ulong)(rows * 10 + cols));
        using Module activation = Activation.Parse(name).NewModule();
        // Keep ReLU inputs away from its kink at 0, where the derivative is undefined.
        var values = Seeded.Uniform(g, rows * cols).Select(v => v + 0.1 * Math.Sign(v)).ToArray();
        AssertAllPass(Check(activation, Tensor.FromArray(values, [rows, cols]), g));
    }

    [TestCase("relu", 1)]
    [TestCase("relu", 8)]
    [TestCase("sigmoid", 3)]
    [TestCase("tanh", 3)]
    [TestCase("gelu", 4)]
    [TestCase("silu", 4)]
    [TestCase("leaky_relu:0.2", 5)]
    public void Mlp_MatchesFiniteDifferences(string activation, int batch)
    {
        var g = Seeded.Generator(3000 + (ulong)batch);
        Module Act() => Activation.Parse(activation).NewModule();
        using var model = new Sequential(
            new Linear(9, 7, dtype: DType.Float64, generator: g), Act(),
            new Linear(7, 5, dtype: DType.Float64, generator: g), Act(),
            new Linear(5, 3, dtype: DType.Float64, generator: g));
        var results = Check(model, Seeded.Tensor64(g, batch, 9), g);
        Assert.That(results.Select(r => r.Name),
            Is.EqualTo(new[] { "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "input" }));
        AssertAllPass(results);
    }

    private static void AssertAllPass(IReadOnlyList<GradCheckResult> results)
    {
        foreach (var r in results)
        {
            TestContext.Out.WriteLine($"{r.Name,-10} {r.Elements,5} elements  max abs {r.MaxAbsoluteError:E2}  max rel {r.MaxRelativeError:E2}");
            Assert.That(r.MaxRelativeError, Is.LessThan(MaxRelativeError), r.Name);
        }
    }
}

/// <summary>The gradient check must catch a wrong gradient, or its passes mean nothing.</summary>
public class GradCheckSensitivityTests
{
    private sealed class WrongScale(double factor) : Module
    {
        private Tensor? _dx;

        public override Tensor Forward(Tensor input) => input;

        public override Tensor? Backward(Tensor gradOutput)
        {
            _dx?.Dispose();
            _dx = Tensor.FromArray(gradOutput.ToArray<double>().Select(v => v * factor).ToArray(), gradOutput.Shape);
            return _dx;
        }
    }

    [Test]
    public void AOnePercentError_IsReported()
    {
        var g = Seeded.Generator(11);
        using var module = new WrongScale(1.01);
        var input = GradCheck.Module(module, Seeded.Tensor64(g, 2, 3), g).Single(r => r.Name == "input");
        Assert.That(input.MaxRelativeError, Is.InRange(0.005, 0.011));
    }
}
