using System.CommandLine;
using System.Globalization;
using CudaNn.Cli.Plots;
using CudaNn.Playground;
using CudaNn.Training;

namespace CudaNn.Cli.Commands;

/// <summary>`playground`: the TensorFlow playground's toy problems, trained here and drawn as a PNG.</summary>
internal static class PlaygroundCommand
{
    public static Command Create(TextWriter output)
    {
        var problem = new Option<string>("--data") { Description = "spiral, circles, xor or gaussian", DefaultValueFactory = _ => "spiral" };
        problem.AcceptOnlyFromAmong("spiral", "circles", "xor", "gaussian");
        var samples = CommonOptions.Positive(new Option<int>("--samples") { Description = "Points in all (train + test)", DefaultValueFactory = _ => 500 });
        var noise = Fraction(new Option<double>("--noise") { Description = "How far points stray, 0 to 1", DefaultValueFactory = _ => 0.1 }, inclusive: true);
        var ratio = Fraction(new Option<double>("--train-ratio") { Description = "Share of the points used for training, between 0 and 1", DefaultValueFactory = _ => 0.5 }, inclusive: false);
        var hidden = CommonOptions.Hidden("16,16");
        var activation = CommonOptions.ActivationChoice();
        activation.DefaultValueFactory = _ => "tanh";
        var lr = new Option<double>("--lr") { Description = "Learning rate", DefaultValueFactory = _ => 0.01 };
        lr.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (!(v > 0) || double.IsInfinity(v)) r.AddError($"--lr must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        var optimizer = new Option<string>("--optimizer") { Description = "adam or sgd", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var batchSize = CommonOptions.BatchSize(10);
        var epochs = CommonOptions.Positive(new Option<int>("--epochs") { Description = "Passes over the training points", DefaultValueFactory = _ => 200 });
        var seed = new Option<ulong>("--seed") { Description = "Seed for data, initialisation and shuffling", DefaultValueFactory = _ => 1 };
        var png = new Option<string>("--png") { Description = "Where to write the picture", DefaultValueFactory = _ => "playground.png" };
        var command = new Command("playground", "Train on a 2-D toy problem (as playground.tensorflow.org) and draw the decision boundary")
        {
            problem, samples, noise, ratio, hidden, activation, lr, optimizer, batchSize, epochs, seed, png,
        };
        command.SetAction(r =>
        {
            string path = r.GetValue(png)!;
            CommonOptions.CheckWritable("--png", path);
            var options = new PlaygroundOptions(
                Enum.Parse<ToyProblem>(r.GetValue(problem)!, ignoreCase: true), r.GetValue(samples), r.GetValue(noise), r.GetValue(ratio),
                CommonOptions.ParseWidths(r.GetValue(hidden)!), Mlp.ParseActivation(r.GetValue(activation)!), r.GetValue(lr),
                r.GetValue(batchSize), r.GetValue(epochs), r.GetValue(optimizer) == "sgd", r.GetValue(seed));
            if (options.Samples < 4) throw new CliException($"--samples must be at least 4, got {options.Samples}");
            var result = PlaygroundTrainer.Run(options);
            string title = $"{r.GetValue(problem)}, noise {options.Noise.ToString(CultureInfo.InvariantCulture)}: " +
                           $"2-{string.Join("-", options.HiddenWidths)}-2 {r.GetValue(activation)}, {r.GetValue(optimizer)} lr {options.LearningRate.ToString(CultureInfo.InvariantCulture)}";
            PlaygroundPlot.Save(path, result, title);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"playground {title}, {options.Epochs} epochs: train loss {result.TrainLoss[^1]:F4}, test loss {result.TestLoss[^1]:F4}, " +
                $"train accuracy {100 * result.TrainAccuracy:F2}%, test accuracy {100 * result.TestAccuracy:F2}% ({result.Train.Count} train, {result.Test.Count} test)"));
            output.WriteLine($"Picture written to {path}");
            return 0;
        });
        return command;
    }

    private static Option<double> Fraction(Option<double> option, bool inclusive)
    {
        option.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            bool ok = inclusive ? v >= 0 && v <= 1 : v > 0 && v < 1;
            if (!ok) r.AddError($"{option.Name} must be {(inclusive ? "from 0 to 1" : "between 0 and 1")}, got {v.ToString(CultureInfo.InvariantCulture)}");
        });
        return option;
    }
}
