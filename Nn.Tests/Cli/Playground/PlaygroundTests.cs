using CudaNn.Backends;
using CudaNn.Cli.Playground;

namespace CudaNn.Tests.Cli.Playground;

/// <summary>The toy problems have the shapes they are named after, and the playground trainer learns them.</summary>
public class PlaygroundTests
{
    private const ulong Seed = 99;

    [Test]
    public void Circles_InnerClassInsideRadiusHalf_OuterClassOnTheRing()
    {
        var data = ToyDataSet.Generate(ToyProblem.Circles, 400, noise: 0, new Generator(Seed));
        for (int i = 0; i < data.Count; i++)
        {
            double r = Math.Sqrt(data.Points[2 * i] * data.Points[2 * i] + data.Points[2 * i + 1] * data.Points[2 * i + 1]);
            Assert.That(data.Labels[i] == 0 ? r <= 0.5 + 1e-6 : r is >= 0.7 - 1e-6 and <= 1 + 1e-6, $"point {i}: r {r}, label {data.Labels[i]}");
        }
    }

    [Test]
    public void Xor_LabelIsSignAgreement()
    {
        var data = ToyDataSet.Generate(ToyProblem.Xor, 300, noise: 0, new Generator(Seed));
        for (int i = 0; i < data.Count; i++)
            Assert.That(data.Labels[i], Is.EqualTo(data.Points[2 * i] * data.Points[2 * i + 1] >= 0 ? 1 : 0));
        Assert.That(data.Labels.Count(l => l == 1), Is.InRange(100, 200));
    }

    [Test]
    public void Split_KeepsEveryPointOnce()
    {
        var data = ToyDataSet.Generate(ToyProblem.Spiral, 101, noise: 0.3, new Generator(Seed));
        var (train, test) = data.Split(0.3, new Generator(Seed));
        Assert.That((train.Count, test.Count), Is.EqualTo((30, 71)));
        Assert.That(train.Points.Concat(test.Points).Order(), Is.EqualTo(data.Points.Order()));
    }

    [TestCase("Gaussian", 0.95)]
    [TestCase("Xor", 0.9)]
    [TestCase("Circles", 0.9)]
    public void Trainer_LearnsTheProblem_AndIsReproducible(string problemName, double minAccuracy)
    {
        var problem = Enum.Parse<ToyProblem>(problemName);
        TestContext.Out.WriteLine($"seed {Seed}");
        var options = new PlaygroundOptions(problem, Samples: 200, Noise: 0.1, Hidden: [8], Activation: Activation.Tanh, Epochs: 40, Seed: Seed);
        var first = PlaygroundTrainer.Run(options);
        TestContext.Out.WriteLine($"{problem}: test accuracy {first.TestAccuracy:P1}, loss {first.TrainLoss[0]:F3} -> {first.TrainLoss[^1]:F3}");
        Assert.That(first.TestAccuracy, Is.GreaterThanOrEqualTo(minAccuracy));
        Assert.That(first.TrainLoss[^1], Is.LessThan(first.TrainLoss[0] / 2));
        Assert.That(first.Boundary[0, 0], Is.InRange(0.0, 1.0));
        Assert.That(PlaygroundTrainer.Run(options).TrainLoss, Is.EqualTo(first.TrainLoss), "same seed, same run");
    }
}
