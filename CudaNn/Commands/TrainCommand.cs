using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CudaNn.Checkpoints;
using CudaNn.Data;
using CudaNn.Training;

namespace CudaNn.Cli.Commands;

/// <summary>`train`: PyTorch's MNIST example (784-128-64-10 ReLU MLP, Adam 1e-3, batch 64, 5 epochs) by default.</summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output)
    {
        var data = CommonOptions.Data();
        var device = CommonOptions.Device();
        var batchSize = CommonOptions.BatchSize(64);
        var epochs = CommonOptions.Positive(new Option<int>("--epochs") { Description = "Passes over the training set", DefaultValueFactory = _ => 5 });
        var lr = new Option<double>("--lr") { Description = "Learning rate", DefaultValueFactory = _ => 1e-3 };
        lr.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (!(v > 0) || double.IsInfinity(v)) r.AddError($"--lr must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var optimizer = new Option<string>("--optimizer") { Description = "adam, adamw or sgd", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "adamw", "sgd");
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer widths, comma-separated", DefaultValueFactory = _ => "128,64" };
        hidden.Validators.Add(r =>
        {
            if (!TryParseWidths(r.GetValueOrDefault<string>() ?? "", out _))
                r.AddError($"--hidden must be positive widths separated by commas (e.g. 128,64), got '{r.GetValueOrDefault<string>()}'");
        });
        var activation = new Option<string>("--activation") { Description = "relu, sigmoid or tanh", DefaultValueFactory = _ => "relu" };
        activation.AcceptOnlyFromAmong("relu", "sigmoid", "tanh");
        var seed = new Option<ulong>("--seed") { Description = "Seed for initialisation and shuffling", DefaultValueFactory = _ => 1 };
        var save = new Option<string>("--save") { Description = "Where to write the trained weights (safetensors)", DefaultValueFactory = _ => "mnist-mlp.safetensors" };
        var init = new Option<string?>("--init") { Description = "Start from the weights in this checkpoint instead of a fresh initialisation" };
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Keep the data set's order" };
        var maxSteps = CommonOptions.Positive(new Option<int>("--max-steps") { Description = "Stop after this many optimizer steps", DefaultValueFactory = _ => int.MaxValue });

        var command = new Command("train", "Train an MLP classifier on MNIST digits")
        {
            data, device, epochs, batchSize, lr, optimizer, hidden, activation, seed, save, init, noShuffle, maxSteps,
        };
        command.SetAction(r => Run(output, new TrainSettings(
            CommonOptions.ResolveData(r.GetValue(data)), CommonOptions.ResolveDevice(r.GetValue(device)!),
            r.GetValue(epochs), r.GetValue(batchSize), r.GetValue(lr), r.GetValue(optimizer)!,
            ParseWidths(r.GetValue(hidden)!), Mlp.ParseActivation(r.GetValue(activation)!), r.GetValue(seed),
            r.GetValue(save)!, r.GetValue(init), !r.GetValue(noShuffle), r.GetValue(maxSteps))));
        return command;
    }

    private static int Run(TextWriter output, TrainSettings s)
    {
        var total = Stopwatch.StartNew();
        var train = MnistDataSet.Load(s.DataDirectory, MnistSplit.Train);
        var test = MnistDataSet.Load(s.DataDirectory, MnistSplit.Test);
        var spec = new MlpSpec(train.ImageSize, s.Hidden, MnistDataSet.ClassCount, s.Activation);
        var generator = new Generator(s.Seed);
        using var model = spec.Create(generator, s.Device);
        if (s.Init is not null) ModelCheckpoint.Load(model, SafetensorsReader.Read(s.Init));
        using var optimizer = OptimizerFactory.Create(s.Optimizer, model.Parameters(), s.LearningRate);
        using var trainLoader = DataLoader.FromMnist(train, s.BatchSize, s.Shuffle, generator, s.Device);
        using var testLoader = DataLoader.FromMnist(test, 1000, device: s.Device);
        using var trainer = new Trainer(model, optimizer);

        output.WriteLine($"CudaNn train: {spec}, {s.Optimizer} lr {s.LearningRate.ToString(CultureInfo.InvariantCulture)}, " +
                         $"batch {s.BatchSize}, {s.Epochs} epochs, seed {s.Seed}, device {s.Device.Name}");
        output.WriteLine($"data: {s.DataDirectory} ({train.Count} train, {test.Count} test)" + (s.Init is null ? "" : $", weights from {s.Init}"));
        for (int epoch = 1; epoch <= s.Epochs && trainer.Steps < s.MaxSteps; epoch++)
        {
            var result = trainer.TrainEpoch(trainLoader, epoch, s.MaxSteps);
            var eval = trainer.Evaluate(testLoader);
            output.WriteLine(Report.Epoch(result, eval, s.Epochs));
        }
        ModelCheckpoint.Save(model, s.SavePath, spec.ToMetadata());
        output.WriteLine($"Saved weights to {s.SavePath} ({trainer.Steps} steps, {total.Elapsed.TotalSeconds:F2} s in all)");
        return 0;
    }

    internal static bool TryParseWidths(string text, out int[] widths)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] <= 0)
                return false;
        return true;
    }

    private static int[] ParseWidths(string text) => TryParseWidths(text, out var w) ? w : throw new CliException($"--hidden: '{text}'");

    private sealed record TrainSettings(
        string DataDirectory, Device Device, int Epochs, int BatchSize, double LearningRate, string Optimizer,
        int[] Hidden, Backends.Activation Activation, ulong Seed, string SavePath, string? Init, bool Shuffle, int MaxSteps);
}
