using System.Diagnostics;
using System.Globalization;
using CudaNn.Data;
using CudaNn.Training;
using TorchSharp;
using static TorchSharp.torch;

// The libtorch peer of `CudaNn train --device cpu`: the same 784-128-64-10 ReLU MLP with the same initial weights
// (drawn by CudaNn's Generator from the seed), the same shuffled order of batches (the same Generator's permutations),
// Adam lr 1e-3 and cross-entropy, a loop that gathers and normalises each batch from the uint8 images, and the loss
// summed as a tensor and read once per epoch. Prints the training time of each epoch (evaluation excluded, as
// `train` reports it) and the median step.
//   dotnet TorchSharpMlp.dll DATA_DIR [--epochs N] [--batch-size N] [--threads N] [--seed N]
string data = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "data/mnist-10k";
int epochs = Option("--epochs", 3), batchSize = Option("--batch-size", 64), threads = Option("--threads", 2);
ulong seed = (ulong)Option("--seed", 1);

torch.set_num_threads(threads);
var train = MnistDataSet.Load(data, MnistSplit.Train);
var test = MnistDataSet.Load(data, MnistSplit.Test);
var generator = new CudaNn.Generator(seed);
using var reference = MlpSpec.Default.Create(generator);
var state = reference.StateDict();

var model = nn.Sequential(
    ("fc1", nn.Linear(784, 128)), ("relu1", nn.ReLU()),
    ("fc2", nn.Linear(128, 64)), ("relu2", nn.ReLU()),
    ("fc3", nn.Linear(64, 10)));
using (torch.no_grad())
{
    foreach (var (name, parameter) in model.named_parameters())
    {
        var values = state[name].ToArray<float>();
        parameter.copy_(torch.tensor(values, parameter.shape));
    }
}
var optimizer = torch.optim.Adam(model.parameters(), lr: 1e-3);

var images = torch.tensor(train.Images, [train.Count, train.ImageSize], ScalarType.Byte);
var labels = torch.tensor(train.Labels, [train.Count], ScalarType.Byte).to(ScalarType.Int64);
var testImages = Normalise(torch.tensor(test.Images, [test.Count, test.ImageSize], ScalarType.Byte));
var testLabels = torch.tensor(test.Labels, [test.Count], ScalarType.Byte).to(ScalarType.Int64);
int batches = (train.Count + batchSize - 1) / batchSize;
Console.WriteLine($"libtorch {torch.__version__} via TorchSharp, {torch.get_num_threads()} threads: 784-128-64-10 relu, adam lr 0.001, " +
    $"batch {batchSize}, {epochs} epochs, seed {seed}, data {data} ({train.Count} train, {test.Count} test)");

var stepTimes = new List<double>();
for (int epoch = 1; epoch <= epochs; epoch++)
{
    // CudaNn's DataLoader draws a permutation from the generator at the start of every epoch.
    var order = torch.tensor(generator.Permutation(train.Count).Select(i => (long)i).ToArray());
    var lossSum = torch.zeros(1);
    model.train();
    var clock = Stopwatch.StartNew();
    stepTimes.Clear();
    for (int b = 0; b < batches; b++)
    {
        long stepStart = Stopwatch.GetTimestamp();
        using var scope = torch.NewDisposeScope();
        int start = b * batchSize, count = Math.Min(batchSize, train.Count - start);
        var index = order.narrow(0, start, count);
        var x = Normalise(images.index_select(0, index));
        var y = labels.index_select(0, index);
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.forward(x), y);
        loss.backward();
        optimizer.step();
        using (torch.no_grad()) lossSum.add_(loss.detach() * count);
        stepTimes.Add(Stopwatch.GetElapsedTime(stepStart).TotalMilliseconds);
    }
    double meanLoss = lossSum.item<float>() / train.Count;
    double seconds = clock.Elapsed.TotalSeconds;
    double accuracy = Evaluate();
    stepTimes.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Epoch {epoch}/{epochs}: loss {meanLoss:F4}  Test Accuracy: {accuracy:P2}  {train.Count / seconds:N0} samples/s  {seconds:F2} s  median step {stepTimes[stepTimes.Count / 2] * 1000:F1} us"));
}
return 0;

double Evaluate()
{
    model.eval();
    using var noGrad = torch.no_grad();
    using var scope = torch.NewDisposeScope();
    var predicted = model.forward(testImages).argmax(1);
    return predicted.eq(testLabels).sum().item<long>() / (double)test.Count;
}

// x = (byte / 255 - 0.5) / 0.5, as CudaNn's gather computes it.
static Tensor Normalise(Tensor bytes) => bytes.to(ScalarType.Float32).mul_(1.0 / (255.0 * 0.5)).add_(-0.5 / 0.5);

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
