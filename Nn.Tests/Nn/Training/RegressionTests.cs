using System.Globalization;
using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Data;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Training;

/// <summary>
/// A regression as a user runs it, against PyTorch 1.13: Nn.Tests/References/regression.csv (100 rows, the target
/// column between the features) read by TensorDataset.FromCsv, batched in file order by a DataLoader, and a 3-16-1 tanh
/// MLP trained by the Trainer with MSELoss and SGD with momentum for 3 epochs; on a GPU device the step is a replayed
/// CUDA graph. regression.safetensors holds PyTorch's initial and final weights, losses and final mean squared error.
/// </summary>
/// <remarks>
/// Tolerances: float64 on the CPU 1e-12 relative for the losses and 1e-10 absolute for the weights (PyTorch's arithmetic
/// in another order over 21 steps). float32: 1e-5 relative for the losses, and an absolute 1% of the summed learning rates
/// for the weights (SGD moves a weight by about lr times its gradient each step; float32 rounding is far below that).
/// </remarks>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class RegressionTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    [Test]
    public void CsvToTrainedMlp_MatchesPyTorch()
    {
        var file = ReferenceFiles.Load("regression.safetensors");
        var meta = file.Metadata;
        int batch = int.Parse(meta["batch"], CultureInfo.InvariantCulture), epochs = int.Parse(meta["epochs"], CultureInfo.InvariantCulture);
        double lr = double.Parse(meta["lr"], CultureInfo.InvariantCulture), momentum = double.Parse(meta["momentum"], CultureInfo.InvariantCulture);
        var data = TensorDataset.FromCsv(Path.Combine(ReferenceFiles.Folder(), meta["csv"]), meta["target"]);
        using var loader = DataLoader.FromDataset(data, batch, device: Device, dtype: DType);
        using var model = Mlp.Create(3, [16], 1, Activation.Tanh);
        model.LoadStateDict(model.NamedParameters().ToDictionary(p => p.Name, p => ReferenceFiles.Read(file, p.Name)));
        model.To(DType).To(Device);
        using var optimizer = new SGD(model.Parameters(), lr: lr, momentum: momentum);
        using var trainer = new Trainer(model, optimizer, task: TrainingTask.Regression);

        var losses = Enumerable.Range(1, epochs).Select(e => trainer.TrainEpoch(loader, e).TrainLoss).ToArray();
        var result = trainer.Evaluate(loader);

        double relative = Exact ? 1e-12 : 1e-5;
        Close.Assert(file.Get("train_loss").ToDoubleArray(), losses, 0, relative, "mean training loss of each epoch");
        Close.Assert(file.Get("mse").ToDoubleArray()[0], result.MeanLoss, 0, relative, "mean squared error over all rows");
        Assert.That(result.RootMeanSquaredError, Is.EqualTo(Math.Sqrt(result.MeanLoss)));
        double summedRates = lr * epochs * loader.BatchCount;
        foreach (var (name, p) in model.NamedParameters())
            ReferenceFiles.Compare(file, "after." + name, p.Value, Exact ? 1e-10 : 0.01 * summedRates, absolute: true);
        if (Device.Kind == DeviceKind.Emulator)
            Assert.That(trainer.GraphCaptures, Is.EqualTo(2), "the batch of 16 and the last of 4 are each captured once and replayed");
    }
}
