using System.CommandLine;
using System.Globalization;
using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Cli.Output;
using CudaNn.Distributed;
using CudaNn.Training;

namespace CudaNn.Cli.Commands.Train;

/// <summary>
/// `train`: PyTorch's MNIST example (784-128-64-10 ReLU MLP, Adam 1e-3, batch 64, 5 epochs) by default; with
/// `--data FILE.csv --target COLUMN`, an MLP learning one column of a CSV file from the others: class labels with
/// cross-entropy, or with `--task regression` numbers with MSELoss.
/// </summary>
internal static class TrainCommand
{
    /// <summary>
    /// --epochs for a CSV when not given. A table of a few hundred rows makes a handful of batches an epoch: on
    /// data/tabular/progression.csv (354 training rows) 5 epochs (30 steps) beat predicting the mean, but its first 150
    /// rows need about 20, and at 40 the 128-64 MLP starts to overfit the full file. 20 suits both.
    /// </summary>
    public const int TableEpochs = 20;

    public static Command Create(CliContext context)
    {
        var data = CommonOptions.Data();
        var device = CommonOptions.Device();
        var batchSize = CommonOptions.BatchSize(64);
        var epochs = OptionValues.Whole("--epochs", $"Total passes over the training set (with --resume: including those already done); default 5, {TableEpochs} for a CSV", 5, 1, CliLimits.Epochs);
        var lr = OptionValues.Real("--lr", "Learning rate", 1e-3, OptionValues.IsPositive, "a positive number");
        var schedule = new Option<LRScheduleSpec?>("--lr-schedule")
        {
            Description = "Learning-rate schedule, stepped after each epoch: " + LRScheduleSpec.Grammar +
                $" (e.g. linear:0.1:1:2@2,cosine:3; at most {LRScheduleSpec.MaxParts} in sequence)",
            CustomParser = r =>
            {
                try
                {
                    return LRScheduleSpec.Parse(string.Join(" ", r.Tokens.Select(t => t.Value)));
                }
                catch (CliException e)
                {
                    r.AddError(e.Message);
                    return null;
                }
            },
        };
        var clipNorm = OptionValues.OptionalReal("--clip-grad-norm", "Scale each step's gradients so their total 2-norm is at most this (clip_grad_norm_)", OptionValues.IsPositive, "a positive number");
        var clipValue = OptionValues.OptionalReal("--clip-grad-value", "Clamp each gradient element to [-X, X] every step (clip_grad_value_)", OptionValues.IsPositive, "a positive number");
        var dropout = OptionValues.Real("--dropout", "Zero each hidden activation with this probability in training (nn.Dropout after every activation)", 0,
            v => v is >= 0 and < 1, "a probability in [0, 1)");
        var layerNorm = new Option<bool>("--layer-norm") { Description = "A LayerNorm between each hidden Linear and its activation (nn.LayerNorm)" };
        var task = OptionValues.Choice("--task", "classification (of MNIST digits, or of a CSV's --target labels) or regression (of a CSV's --target column)",
            "classification", "regression");
        var target = new Option<string?>("--target")
        {
            Description = "The CSV column to learn (class labels 0, 1, ... to classify; numbers with --task regression); --data is then the CSV file and every other column a feature",
        };
        var testFraction = OptionValues.Real("--test-fraction", "With --target: the share of rows held out for testing, drawn by --seed", 0.2,
            v => v is > 0 and < 1, "a fraction strictly between 0 and 1");
        var noStandardize = new Option<bool>("--no-standardize")
        {
            Description = "With --target: train on the CSV's own units; by default every feature (and a regression's target) is shifted and scaled by the " +
                          "training rows' mean and deviation, recorded in the checkpoint and folded into the weights by `export --onnx`",
        };
        var optimizer = OptionValues.Choice("--optimizer", "adam, adamw or sgd", OptimizerFactory.Names);
        var hidden = CommonOptions.Hidden("128,64");
        var activation = CommonOptions.ActivationChoice();
        var seed = OptionValues.Unsigned("--seed", "Seed for initialisation and shuffling", 1);
        var save = new Option<string?>("--save")
        {
            Description = "Where to write the checkpoint (safetensors: weights, optimizer state, position); default mnist-mlp.safetensors, " +
                          "or STEM-mlp.safetensors for --data STEM.csv",
        };
        var init = new Option<string?>("--init") { Description = "Start from the weights in this checkpoint instead of a fresh initialisation" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run saved in this checkpoint, exactly where it stopped" };
        var allowNonFinite = CheckpointOptions.AllowNonFinite();
        var noShuffle = new Option<bool>("--no-shuffle") { Description = "Keep the data set's order" };
        var maxSteps = OptionValues.Whole("--max-steps", "Stop after this many optimizer steps", int.MaxValue, 1);
        var saveEvery = OptionValues.Whole("--save-every", "Also write the checkpoint every N epochs (0: only at the end)", 0, 0, CliLimits.Epochs);
        var keep = OptionValues.Whole("--keep", "With --save-every: keep the last K numbered copies (NAME.epoch-K.safetensors)", 3, 0, CliLimits.Keep);
        var plot = new Option<string?>("--plot") { Description = "Write loss and test-accuracy curves to this PNG" };
        var json = CommonOptions.Json();
        var continueOnNan = new Option<bool>("--continue-on-nan") { Description = "Keep training when the loss becomes NaN or infinite (default: stop, keeping the last good checkpoint)" };
        var noGraphs = new Option<bool>("--no-graphs") { Description = "On a GPU, run every step eagerly instead of replaying it as a captured CUDA graph (to debug; slower)" };
        var precision = CommonOptions.Precision();
        var plan = CommonOptions.TrainPlan();
        var distributed = new Option<bool>("--distributed")
        {
            Description = "Train data-parallel as one rank of a job Open MPI started (mpirun -np N dotnet CudaNn.Cli.dll train --distributed ...): " +
                "each rank takes --batch-size samples of every step; CPU (and emulator) ranks average gradients over MPI, GPU ranks (cuda:LOCAL_RANK) over NCCL",
        };
        var collectiveTimeout = OptionValues.Real("--collective-timeout", "With --distributed: seconds a rank waits for the others in a collective before it ends the job", 600,
            v => v > 0 && v <= TimeSpan.MaxValue.TotalSeconds, "a positive number of seconds");

        var command = new Command("train", "Train an MLP: a classifier of MNIST-style digits, or of a CSV's --target column, or a regression of it (--task regression)")
        {
            data, task, target, testFraction, noStandardize, device, epochs, batchSize, lr, schedule, clipNorm, clipValue, optimizer, hidden, activation, layerNorm, dropout, seed, save, init, resume, allowNonFinite, noShuffle, maxSteps,
            saveEvery, keep, plot, json, continueOnNan, noGraphs, precision, plan, distributed, collectiveTimeout,
        };
        command.SetAction(r =>
        {
            bool regression = r.GetValue(task) == "regression";
            bool table = r.GetValue(target) is not null;
            if (regression && !table) throw new CliException("--task regression needs --target COLUMN, the CSV column to fit");
            if (!table && r.GetValue(data) is { } file && File.Exists(file))
                throw new CliException($"--data: '{file}' is a file; to learn from a CSV file, name the column to learn with --target COLUMN");
            bool Given(string name) => r.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>()
                .Any(o => !o.Implicit && (o.Option.Name == name || o.Option.Aliases.Contains(name)));
            string dataPath = table ? TableData(r.GetValue(data)) : CommonOptions.ResolveData(r.GetValue(data));
            int epochCount = table && !Given("--epochs") ? TableEpochs : r.GetValue(epochs);
            var launch = r.GetValue(distributed) ? Launch(context) : null;
            var settings = new TrainSettings(
                dataPath, CommonOptions.ResolveDevice(RankDevice(r.GetValue(device)!, launch)),
                epochCount, r.GetValue(batchSize), r.GetValue(lr), r.GetValue(optimizer)!,
                CommonOptions.ParseWidths(r.GetValue(hidden)!), r.GetValue(activation)!, r.GetValue(seed),
                r.GetValue(save) ?? DefaultSave(table, dataPath), r.GetValue(init), !r.GetValue(noShuffle), r.GetValue(maxSteps),
                r.GetValue(resume), r.GetValue(saveEvery), r.GetValue(keep), r.GetValue(plot), r.GetValue(continueOnNan))
            {
                UseGraphs = !r.GetValue(noGraphs),
                AllowNonFinite = r.GetValue(allowNonFinite),
                Schedule = r.GetValue(schedule)?.ForEpochs(epochCount),
                ClipGradNorm = r.GetValue(clipNorm),
                ClipGradValue = r.GetValue(clipValue),
                Dropout = r.GetValue(dropout),
                LayerNorm = r.GetValue(layerNorm),
                Task = regression ? TrainingTask.Regression : TrainingTask.Classification,
                Target = r.GetValue(target),
                TestFraction = r.GetValue(testFraction),
                Standardize = !r.GetValue(noStandardize),
            };
            // Tuned on a GPU unless pinned; the emulator's and the CPU's default is layers, tuned only when --plan auto is given.
            string planName = r.GetValue(plan)!;
            settings = settings with
            {
                Plan = planName != "auto" ? CommonOptions.ParsePlan(planName)
                    : Given("--plan") || settings.Device.Kind == DeviceKind.Cuda ? null : StepPlan.Layers,
            };
            using var precisionScope = CommonOptions.ApplyPrecision(settings.Device, r.GetValue(precision)!);
            if (regression && settings.PlotPath is not null)
                throw new CliException("--plot draws a classifier's loss and test accuracy; a regression's test RMSE is in each epoch's line and in --json");
            if (settings.PlotPath is not null) CommonOptions.CheckWritable("--plot", settings.PlotPath);
            CommonOptions.CheckWritable("--save", settings.SavePath);
            if (!table && Given("--no-standardize")) throw new CliException("--no-standardize applies to a CSV's columns; it needs --target COLUMN");
            using var group = launch is null ? null : Join(settings.Device, TimeSpan.FromSeconds(r.GetValue(collectiveTimeout)));
            ITrainingView view = group is { Rank: > 0 } ? new QuietTrainingView()
                : r.GetValue(json) ? new JsonTrainingView(context)
                : context.Interactive ? new LiveTrainingView(context) : new PlainTrainingView(context);
            if (group is null) return new TrainRun(context, view).Run(settings, Given);
            try
            {
                return new TrainRun(context, view, group).Run(settings, Given);
            }
            catch (Exception e) when (group.WorldSize > 1)
            {
                // The other ranks wait for this one in their next collective: end the whole job now, saying why, rather than
                // leave them to time out. A CliException's code is kept; anything else is a run error.
                context.Error.WriteLine(e.Message.StartsWith("rank ", StringComparison.Ordinal) ? $"error: {e.Message}" : $"error: {group}: {e.Message}");
                group.Abort(e is CliException cli ? cli.ExitCode : CliApp.RunError);
                throw;
            }
        });
        return command;
    }

    /// <summary>The launch this rank belongs to; without one, a note that this is a single rank.</summary>
    private static MpiLaunch? Launch(CliContext context)
    {
        var launch = MpiLaunch.Current;
        if (launch is null)
        {
            if (MpiLaunch.ForeignLauncher(Environment.GetEnvironmentVariable) is { } foreign)
                throw new CliException($"--distributed: this process was started by {foreign}; CudaNn joins jobs of Open MPI's mpirun", CliApp.RunError);
            context.Error.WriteLine("note: --distributed without a launcher (OMPI_COMM_WORLD_SIZE is not set): training as a single rank. " +
                "Start N ranks with: mpirun -np N dotnet CudaNn.Cli.dll train --distributed ...");
        }
        return launch;
    }

    /// <summary>A rank's device: "cuda" and "auto" (when CUDA is usable) mean the GPU of its local rank, one GPU per rank.</summary>
    private static string RankDevice(string given, MpiLaunch? launch)
    {
        if (launch is null) return given;
        string name = given.Trim().ToLowerInvariant();
        return name == "cuda" || name == "auto" && CudaDevices.IsCudaUsable(out _)
            ? $"cuda:{launch.LocalRank.ToString(CultureInfo.InvariantCulture)}"
            : given;
    }

    private static ProcessGroup Join(CudaNn.Device device, TimeSpan timeout)
    {
        try
        {
            return ProcessGroup.FromLauncher(device, timeout)
                ?? throw new CliException("--distributed: the launcher's variables disappeared", CliApp.RunError);
        }
        catch (CollectiveException e)
        {
            throw new CliException($"--distributed: {e.Message}", CliApp.RunError);
        }
    }

    /// <summary>--data when --target names a column: a CSV file (not a folder of digits).</summary>
    private static string TableData(string? given)
    {
        if (given is null) throw new CliException("--target reads a CSV file: give it with --data FILE.csv");
        if (Directory.Exists(given)) throw new CliException($"--data: '{given}' is a directory; with --target, --data is a CSV file");
        if (!File.Exists(given)) throw new CliException($"--data: file '{given}' does not exist (with --target, --data is a CSV file)");
        return given;
    }

    /// <summary>The checkpoint's name when --save is not given: after its data, in the current folder.</summary>
    private static string DefaultSave(bool table, string dataPath) =>
        table ? Path.GetFileNameWithoutExtension(dataPath) + "-mlp.safetensors" : "mnist-mlp.safetensors";
}
