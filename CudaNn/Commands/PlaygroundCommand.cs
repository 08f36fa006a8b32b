using System.CommandLine;
using System.Globalization;
using CudaNn.Cli.Plots;
using CudaNn.Cli.Playground;
using CudaNn.Training;

namespace CudaNn.Cli.Commands;

/// <summary>`playground`: the TensorFlow playground's toy problems, trained here and drawn as a PNG.</summary>
internal static class PlaygroundCommand
{
    public static Command Create(TextWriter output)
    {
        var problem = OptionValues.Choice("--data", "spiral, circles, xor or gaussian", "spiral", "circles", "xor", "gaussian");
        var samples = OptionValues.Whole("--samples", "Points in all (train + test)", 500, 4, ToyDataSet.MaxCount);
        var noise = OptionValues.Real("--noise", "How far points stray", 0.1, v => v is >= 0 and <= 1, "from 0 to 1");
        var ratio = OptionValues.Real("--train-ratio", "Share of the points used for training", 0.5, v => v is > 0 and < 1, "between 0 and 1");
        var hidden = CommonOptions.Hidden("16,16");
        var activation = CommonOptions.ActivationChoice(defaultValue: Backends.Activation.Tanh);
        var lr = OptionValues.Real("--lr", "Learning rate", 0.01, OptionValues.IsPositive, "a positive number");
        var optimizer = OptionValues.Choice("--optimizer", "adam or sgd", "adam", "sgd");
        var batchSize = CommonOptions.BatchSize(10);
        var epochs = OptionValues.Whole("--epochs", "Passes over the training points", 200, 1, CliLimits.Epochs);
        var seed = OptionValues.Unsigned("--seed", "Seed for data, initialisation and shuffling", 1);
        var png = new Option<string>("--png") { Description = "Where to write the picture", DefaultValueFactory = _ => "playground.png" };
        var command = new Command("playground", "Train on a 2-D toy problem (as playground.tensorflow.org) and draw the decision boundary")
        {
            problem, samples, noise, ratio, hidden, activation, lr, optimizer, batchSize, epochs, seed, png,
        };
        command.SetAction(r =>
        {
            string path = r.GetValue(png)!;
            var widths = CommonOptions.ParseWidths(r.GetValue(hidden)!);
            if (Mlp.CheckWidths([2, .. widths, 2]) is { } tooLarge) throw new CliException($"--hidden {r.GetValue(hidden)}: {tooLarge}");
            CommonOptions.CheckWritable("--png", path);
            var options = new PlaygroundOptions(
                Enum.Parse<ToyProblem>(r.GetValue(problem)!, ignoreCase: true), r.GetValue(samples), r.GetValue(noise), r.GetValue(ratio),
                widths, r.GetValue(activation)!, r.GetValue(lr),
                r.GetValue(batchSize), r.GetValue(epochs), r.GetValue(optimizer) == "sgd", r.GetValue(seed));
            var result = PlaygroundTrainer.Run(options);
            string title = $"{r.GetValue(problem)}, noise {options.Noise.ToString(CultureInfo.InvariantCulture)}: " +
                           $"2-{string.Join("-", options.HiddenWidths)}-2 {r.GetValue(activation)}, {r.GetValue(optimizer)} lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)}";
            PlaygroundPlot.Save(path, result, title);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"playground {title}, {options.Epochs} epochs: train loss {result.TrainLoss[^1]:F4}, test loss {result.TestLoss[^1]:F4}, " +
                $"train accuracy {100 * result.TrainAccuracy:F2}%, test accuracy {100 * result.TestAccuracy:F2}% ({result.Train.Count} train, {result.Test.Count} test)"));
            output.WriteLine($"Picture written to {path}");
            if (TrueTypeFont.MissingNote is { } note) output.WriteLine(note);
            return 0;
        });
        return command;
    }
}
