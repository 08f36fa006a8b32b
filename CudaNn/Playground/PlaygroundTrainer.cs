using CudaNn.Backends;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Cli.Playground;

/// <summary>The knobs of playground.tensorflow.org, with defaults that untangle the spiral.</summary>
internal sealed record PlaygroundOptions(
    ToyProblem Problem = ToyProblem.Spiral,
    int Samples = 500,
    double Noise = 0.1,
    double TrainRatio = 0.5,
    IReadOnlyList<int>? Hidden = null,
    Activation? Activation = null,
    double LearningRate = 0.01,
    int BatchSize = 10,
    int Epochs = 200,
    bool Sgd = false,
    ulong Seed = 1)
{
    public IReadOnlyList<int> HiddenWidths => Hidden ?? [16, 16];

    /// <summary>The activation used: <see cref="Activation"/>, or tanh when that is null.</summary>
    public Activation HiddenActivation => Activation ?? Backends.Activation.Tanh;
}

/// <summary>Losses per epoch, final accuracies, and class-1 probabilities over a grid covering the plane.</summary>
internal sealed record PlaygroundResult(
    ToyDataSet Train, ToyDataSet Test, double[] TrainLoss, double[] TestLoss, double TrainAccuracy, double TestAccuracy,
    double[,] Boundary);

/// <summary>
/// Trains a small MLP (2 inputs, two classes) on a <see cref="ToyDataSet"/> with the library's own layers, loss and
/// optimizers: shuffled mini-batches, cross-entropy, Adam (or SGD). Everything random comes from one generator seeded
/// by the options, so a run repeats exactly.
/// </summary>
internal static class PlaygroundTrainer
{
    /// <summary>Cells per side of <see cref="PlaygroundResult.Boundary"/>.</summary>
    public const int GridSize = 120;

    public static PlaygroundResult Run(PlaygroundOptions o, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(o.Epochs);
        device ??= Device.Cpu;
        var generator = new Generator(o.Seed);
        var (train, test) = ToyDataSet.Generate(o.Problem, o.Samples, o.Noise, generator).Split(o.TrainRatio, generator);
        using var model = Mlp.Create(2, o.HiddenWidths, 2, o.HiddenActivation, generator, device);
        using Optimizer optimizer = o.Sgd ? new SGD(model.Parameters(), lr: o.LearningRate) : new Adam(model.Parameters(), lr: o.LearningRate);
        using var lossFn = new CrossEntropyLoss();
        using var trainX = Tensor.FromArray(train.Points, [train.Count, 2], device);
        using var trainY = Tensor.FromArray(train.Labels, [train.Count], device);
        using var testX = Tensor.FromArray(test.Points, [test.Count, 2], device);
        using var testY = Tensor.FromArray(test.Labels, [test.Count], device);

        // Batches are gathered on the device from one copy of the training set, in the generator's order each epoch.
        using var loader = DataLoader.FromDataset(new TensorDataset(train.Points, [train.Count, 2], train.Labels), o.BatchSize, shuffle: true,
            generator, device);

        var trainLoss = new double[o.Epochs];
        var testLoss = new double[o.Epochs];
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            model.Train();
            foreach (var (x, y) in loader)
            {
                optimizer.ZeroGrad();
                lossFn.Forward(model.Forward(x), y);
                model.Backward(lossFn.Backward());
                optimizer.Step();
            }
            trainLoss[epoch] = Evaluate(model, lossFn, trainX, trainY).Loss;
            testLoss[epoch] = Evaluate(model, lossFn, testX, testY).Loss;
        }
        return new PlaygroundResult(train, test, trainLoss, testLoss,
            Evaluate(model, lossFn, trainX, trainY).Accuracy, Evaluate(model, lossFn, testX, testY).Accuracy, Boundary(model, device));
    }

    private static (double Loss, double Accuracy) Evaluate(Module model, CrossEntropyLoss lossFn, Tensor x, Tensor y)
    {
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        using var correct = Tensor.Zeros([1], DType.Int32, x.Device);
        double loss = lossFn.Forward(model.Forward(x), y, correct).Item();
        return (loss, correct.Item() / x.Shape[0]);
    }

    /// <summary>P(class 1) at the centre of each cell; [row, col] with row 0 at the top (largest y), as an image is drawn.</summary>
    private static double[,] Boundary(Module model, Device device)
    {
        var points = new float[GridSize * GridSize * 2];
        for (int row = 0; row < GridSize; row++)
            for (int col = 0; col < GridSize; col++)
            {
                int i = row * GridSize + col;
                points[2 * i] = (float)Coordinate(col);
                points[2 * i + 1] = (float)-Coordinate(row);
            }
        using var grid = Tensor.FromArray(points, [GridSize * GridSize, 2], device);
        var predictions = Prediction.Predict(model, grid);
        var boundary = new double[GridSize, GridSize];
        for (int i = 0; i < predictions.Length; i++) boundary[i / GridSize, i % GridSize] = predictions[i].Probabilities[1];
        return boundary;
    }

    /// <summary>The centre of cell <paramref name="index"/> along an axis from -Extent to +Extent.</summary>
    public static double Coordinate(int index) => -ToyDataSet.Extent + (index + 0.5) * 2 * ToyDataSet.Extent / GridSize;
}
