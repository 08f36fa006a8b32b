using CudaNn.Backends;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Training;

public class TrainerTests
{
    [Test]
    public void OneEpochOnTheShippedDigits_LearnsAndIsReproducible()
    {
        var (weights, loss, accuracy) = TrainOnce(seed: 3);
        TestContext.Out.WriteLine($"loss {loss:F4}, accuracy {accuracy:P2}");
        // 125 Adam steps on 8,000 digits: PyTorch reaches about 87% after one epoch; chance is 10%.
        Assert.That(accuracy, Is.GreaterThan(0.80));
        Assert.That(loss, Is.LessThan(1.0));
        var again = TrainOnce(seed: 3);
        Assert.That(again.Weights, Is.EqualTo(weights), "same seed, bit-identical weights");
        Assert.That(again.Loss, Is.EqualTo(loss));
    }

    [Test]
    public void ATrainingStepOnTheCpu_AllocatesNothingOnceWarm()
    {
        // The GEMMs of a batch-64 step are split across cores and the Adam step too: dispatching those parts, the
        // layers' buffers and views, and the loss must all be reused, so the Trainer's step leaves nothing for the
        // garbage collector.
        var train = MnistDataSet.LoadDefault(MnistSplit.Train);
        using var model = MlpSpec.Default.Create(new Generator(5));
        using var opt = new Adam(model.Parameters(), lr: 1e-3);
        using var loader = DataLoader.FromMnist(train, 64);
        using var trainer = new Trainer(model, opt);
        var (x, y) = loader.First();
        for (int i = 0; i < 20; i++) trainer.Step(x, y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) trainer.Step(x, y);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "bytes allocated by 50 warm training steps");
    }

    [Test]
    public void AStepOfYourOwnLoop_AllocatesOneViewPerOutput()
    {
        // Outside the Trainer every Forward and Backward hands out a view of its own (so a kept one can be told apart
        // from the next): the default MLP's step makes 7 (its three layers' outputs, the loss and its gradient, and
        // the input gradients of the two layers above the first), and nothing else.
        var train = MnistDataSet.LoadDefault(MnistSplit.Train);
        using var model = MlpSpec.Default.Create(new Generator(5));
        using var opt = new Adam(model.Parameters(), lr: 1e-3);
        using var lossFn = new CrossEntropyLoss();
        using var loader = DataLoader.FromMnist(train, 64);
        var (x, y) = loader.First();
        void Step()
        {
            opt.ZeroGrad();
            lossFn.Forward(model.Forward(x), y);
            model.Backward(lossFn.Backward());
            opt.Step();
        }
        for (int i = 0; i < 20; i++) Step();
        // Step by step, and the median: a step the runtime happens to recompile a method in allocates for that too.
        var steps = new long[51];
        for (int i = 0; i < steps.Length; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Step();
            steps[i] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        long perStep = steps.Order().ElementAt(steps.Length / 2);
        long perView = ViewBytes(x);
        TestContext.Out.WriteLine($"{perStep} bytes a step, {perView} bytes a view");
        Assert.That(perView, Is.LessThan(100), "the README's bound on a view");
        Assert.That(perStep % perView, Is.Zero, "nothing but views");
        Assert.That(perStep / perView, Is.EqualTo(7), "views a step");
    }

    /// <summary>The bytes one handed-out view takes, measured as the layers make them.</summary>
    private static long ViewBytes(Tensor like)
    {
        using var buffers = new ShapeBuffers();
        buffers.Get(like.Shape, like);
        long before = GC.GetAllocatedBytesForCurrentThread();
        buffers.Get(like.Shape, like);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Test]
    public void MaxSteps_StopsMidEpoch()
    {
        var train = MnistDataSet.LoadDefault(MnistSplit.Train);
        using var model = Mlp.Create(784, [16], 10, Activation.ReLU, new Generator(1));
        using var opt = new SGD(model.Parameters(), lr: 0.1);
        using var loader = DataLoader.FromMnist(train, 100, shuffle: true, new Generator(1));
        using var trainer = new Trainer(model, opt);
        var result = trainer.TrainEpoch(loader, 1, maxSteps: 7);
        Assert.That((result.Steps, result.Samples, trainer.Steps), Is.EqualTo((7L, 700L, 7L)));
    }

    [Test]
    public void Evaluate_CountsExactlyAsAHostComputation()
    {
        var test = MnistDataSet.LoadDefault(MnistSplit.Test);
        var g = Seeded.Generator(77);
        using var model = Mlp.Create(784, [32], 10, Activation.Tanh, g);
        using var loader = DataLoader.FromMnist(test, 300);
        var result = Trainer.Evaluate(model, loader);

        long correct = 0;
        double lossSum = 0;
        using var all = DataLoader.FromMnist(test, test.Count);
        var (x, y) = all.First();
        var predictions = Prediction.Predict(model, x);
        var labels = y.ToArray<int>();
        for (int i = 0; i < labels.Length; i++)
        {
            if (predictions[i].Label == labels[i]) correct++;
            lossSum -= Math.Log(predictions[i].Probabilities[labels[i]]);
        }
        Assert.That(result.Count, Is.EqualTo(2000));
        Assert.That(result.Correct, Is.EqualTo(correct));
        Close.Assert(lossSum / labels.Length, result.MeanLoss, 0, 1e-5, "mean loss");
    }

    private static (float[] Weights, double Loss, double Accuracy) TrainOnce(ulong seed)
    {
        var train = MnistDataSet.LoadDefault(MnistSplit.Train);
        var test = MnistDataSet.LoadDefault(MnistSplit.Test);
        var g = new Generator(seed);
        using var model = MlpSpec.Default.Create(g);
        using var opt = new Adam(model.Parameters(), lr: 1e-3);
        using var trainLoader = DataLoader.FromMnist(train, 64, shuffle: true, g);
        using var testLoader = DataLoader.FromMnist(test, 1000);
        using var trainer = new Trainer(model, opt);
        var epoch = trainer.TrainEpoch(trainLoader, 1);
        var eval = trainer.Evaluate(testLoader);
        return (model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray(), epoch.TrainLoss, eval.Accuracy);
    }
}
