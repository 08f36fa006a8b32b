using CudaNn;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;

// PyTorch's MNIST example in C#: 784-128-64-10 ReLU MLP, cross-entropy, Adam 1e-3, batch 64.
//   dotnet run -- [MNIST_DIR] [--epochs N]      (default: the digits shipped in the CudaNn repository, 5 epochs)
string? dataDir = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : null;
int epochs = Array.IndexOf(args, "--epochs") is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : 5;

var device = Device.Auto();
Console.WriteLine($"device: {device.Name}");
var train = dataDir is null ? MnistDataSet.LoadDefault(MnistSplit.Train) : MnistDataSet.Load(dataDir, MnistSplit.Train);
var test = dataDir is null ? MnistDataSet.LoadDefault(MnistSplit.Test) : MnistDataSet.Load(dataDir, MnistSplit.Test);

var generator = new Generator(1);
using var model = new Sequential(
    new Linear(784, 128, generator: generator), new ReLU(),
    new Linear(128, 64, generator: generator), new ReLU(),
    new Linear(64, 10, generator: generator));
model.To(device);
using var lossFn = new CrossEntropyLoss();
using var opt = new Adam(model.Parameters(), lr: 1e-3);
using var trainLoader = DataLoader.FromMnist(train, batchSize: 64, shuffle: true, generator, device);
using var testLoader = DataLoader.FromMnist(test, batchSize: 1000, device: device);

for (int epoch = 1; epoch <= epochs; epoch++)
{
    model.Train();
    double lossSum = 0;
    foreach (var (x, y) in trainLoader)
    {
        opt.ZeroGrad();
        var loss = lossFn.Forward(model.Forward(x), y);
        model.Backward(lossFn.Backward());
        opt.Step();
        lossSum += loss.Item() * x.Shape[0];   // one read a step: the Trainer class keeps the sum on the device instead
    }

    model.Eval();
    long correct = 0;
    using (GradMode.NoGrad())
    using (var hits = Tensor.Zeros([1], DType.Int32, device))
    {
        foreach (var (x, y) in testLoader)
            lossFn.Forward(model.Forward(x), y, hits);
        correct = (long)hits.Item();
    }
    Console.WriteLine($"Epoch {epoch}: loss {lossSum / train.Count:F4}, test accuracy {100.0 * correct / test.Count:F2}%");
}
