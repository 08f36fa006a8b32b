using CudaNn.Nn;
using CudaNn.Tests.Nn.Backends.Cuda;
using CudaNn.Tests.TestSupport;
using CudaNn.Verification;

namespace CudaNn.Tests.Nn.CustomLayers;

/// <summary>
/// A layer written outside CudaNn (<see cref="Residual"/>, the README's sample) behaves as CudaNn's own: its gradients
/// match float64 central differences on the CPU, and it trains on the CUDA backend (the emulator in CI) inside a
/// replayed graph to the CPU's weights. The README shows exactly the code tested here.
/// </summary>
[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class CustomLayerTests(string device) : CudaDeviceFixture(device)
{
    private const ulong Seed = 20261201;

    [Test]
    public void Residual_MatchesFiniteDifferences_OnTheCpu()
    {
        var g = Seeded.Generator(Seed);
        using var block = new Residual(new Sequential(new Linear(6, 6, dtype: DType.Float64, generator: g), new Tanh()));
        var results = GradCheck.Module(block, Seeded.Tensor64(g, 4, 6), g);
        Assert.That(results.Select(r => r.Name), Is.EqualTo(new[] { "inner.0.weight", "inner.0.bias", "input" }));
        foreach (var r in results)
        {
            TestContext.Out.WriteLine($"{r.Name,-16} max rel {r.MaxRelativeError:E2}");
            Assert.That(r.MaxRelativeError, Is.LessThan(1e-6), r.Name);
        }
    }

    /// <summary>Two epochs of 300 digits (the last batch 44) with evaluation between; tolerance as in the training-flow tests: 1% of Σ lr, 0.1% of weights up to Σ lr.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void Residual_TrainsInsideAReplayedStep_ToTheCpusWeights(bool graphs)
    {
        var reference = Train(CudaNn.Device.Cpu, graphs: false);
        var actual = Train(Device, graphs);
        double summedRates = 2 * 5 * 1e-3;
        Close.AssertAlmostAll(reference.Weights, actual.Weights, 0.01 * summedRates, summedRates, 0.001, "weights after 2 epochs");
        Assert.That(actual.Correct, Is.EqualTo(reference.Correct).Within(2), "correct test digits");
        Assert.That(actual.Captures, Is.EqualTo(graphs ? 2 : 0), "one graph per batch size (64 and the last 44)");
    }

    [Test]
    public void TheReadme_ShowsTheTestedSample()
    {
        string root = ReferenceFiles.Folder();
        string readme = File.ReadAllText(Path.Combine(root, "..", "..", "README.md"));
        string sample = File.ReadAllText(Path.Combine(root, "..", "Nn", "CustomLayers", "Residual.cs"));
        string classText = sample[sample.IndexOf("public sealed class Residual", StringComparison.Ordinal)..].TrimEnd();
        Assert.That(readme.Replace("\r\n", "\n"), Does.Contain(classText.Replace("\r\n", "\n")), "README's Residual is Nn.Tests/Nn/CustomLayers/Residual.cs");
    }

    private static (float[] Weights, long Correct, int Captures) Train(Device device, bool graphs) =>
        TwoEpochsOfDigits.Train(g => new Sequential(new Linear(784, 32, generator: g), new ReLU(),
            new Residual(new Sequential(new Linear(32, 32, generator: g), new Tanh())), new Linear(32, 10, generator: g)), Seed, device, graphs);
}
