using System.Globalization;
using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Optim;

namespace CudaNn.Cli.Commands.Train;

/// <summary>Everything `train` was asked to do.</summary>
internal sealed record TrainSettings(
    string DataDirectory, Device Device, int Epochs, int BatchSize, double LearningRate, string Optimizer,
    int[] Hidden, Activation Activation, ulong Seed, string SavePath, string? Init, bool Shuffle, int MaxSteps,
    string? Resume, int SaveEvery, int Keep, string? PlotPath, bool ContinueOnNan)
{
    private const string Key = ModelCheckpoint.TrainingStatePrefix + "train.";

    /// <summary>Metadata naming the task ("classification" or "regression"); absent in classifiers saved before it existed.</summary>
    public const string TaskKey = Key + "task";

    /// <summary>Metadata giving the number of data-parallel ranks that trained (absent: one); a resumed run must have as many.</summary>
    public const string WorldSizeKey = Key + "world_size";

    /// <summary>Metadata naming the CSV column a model learned (absent: MNIST digits).</summary>
    public const string TargetKey = Key + "target";

    /// <summary>Metadata saying whether a CSV's columns were standardized ("true"; absent in runs from before it was done: no).</summary>
    public const string StandardizeKey = Key + "standardize";

    /// <summary>Classification (the default) or regression (--task).</summary>
    public Training.TrainingTask Task { get; init; }

    /// <summary>The CSV column the model learns (--target): class labels or the numbers to fit; null for MNIST digits.</summary>
    public string? Target { get; init; }

    /// <summary>The share of a CSV's rows held out for testing, drawn by the seed (--test-fraction).</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Standardize a CSV's features (and a regression's target) with the training rows' statistics (--no-standardize: keep its units).</summary>
    public bool Standardize { get; init; } = true;

    /// <summary>On a GPU, replay each step as a captured CUDA graph (--no-graphs turns it off); the results are the same.</summary>
    public bool UseGraphs { get; init; } = true;

    /// <summary>The learning-rate schedule, stepped after every epoch; null for a constant rate.</summary>
    public LRScheduleSpec? Schedule { get; init; }

    /// <summary>The bound on each step's total gradient norm (--clip-grad-norm); null: none.</summary>
    public double? ClipGradNorm { get; init; }

    /// <summary>The probability of each Dropout after an activation (--dropout); 0: no dropout layers.</summary>
    public double Dropout { get; init; }

    /// <summary>Whether a LayerNorm sits between each hidden Linear and its activation (--layer-norm).</summary>
    public bool LayerNorm { get; init; }

    /// <summary>Load weights and optimizer state holding NaN or infinity (--allow-nonfinite) instead of refusing them.</summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>The bound on each gradient element (--clip-grad-value); null: none.</summary>
    public double? ClipGradValue { get; init; }

    /// <summary>
    /// How the MLP's layers run on a GPU or the emulator (--plan); null for auto, until the run's tuning sets the plan it
    /// chose. Recorded, and replayed by a resume.
    /// </summary>
    public StepPlan? Plan { get; init; }

    /// <summary>--plan as given or chosen: "auto" before tuning, then the plan's name.</summary>
    public string PlanName => Plan is { } plan ? CommonOptions.PlanName(plan) : "auto";

    /// <summary>The settings a resumed run must share with the run that wrote the checkpoint, as metadata.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var metadata = new Dictionary<string, string>
        {
            [Key + "optimizer"] = Optimizer,
            [Key + "lr"] = LearningRate.ToString("R", CultureInfo.InvariantCulture),
            [Key + "batch_size"] = BatchSize.ToString(CultureInfo.InvariantCulture),
            [Key + "seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            [Key + "shuffle"] = Shuffle ? "true" : "false",
            [Key + "plan"] = Plan is { } plan ? CommonOptions.PlanName(plan) : throw new InvalidOperationException("the run's plan is recorded once tuning has chosen it"),
        };
        if (Schedule is not null) metadata[Key + "lr_schedule"] = Schedule.ToString();
        if (ClipGradNorm is { } norm) metadata[Key + "clip_grad_norm"] = norm.ToString("R", CultureInfo.InvariantCulture);
        if (ClipGradValue is { } value) metadata[Key + "clip_grad_value"] = value.ToString("R", CultureInfo.InvariantCulture);
        metadata[TaskKey] = Task == Training.TrainingTask.Regression ? "regression" : "classification";
        if (Target is not null)
        {
            metadata[TargetKey] = Target;
            metadata[Key + "test_fraction"] = TestFraction.ToString("R", CultureInfo.InvariantCulture);
            metadata[StandardizeKey] = Standardize ? "true" : "false";
        }
        return metadata;
    }

    /// <summary>
    /// These settings with the checkpoint's optimizer, learning rate and schedule, gradient clipping, dropout, layer norm, batch size, seed, shuffling, data columns and standardization, and model shape, which a
    /// resumed run must keep to continue exactly. An option given on the command line that disagrees is an error, not silently ignored.
    /// </summary>
    public TrainSettings ResumedFrom(SafetensorsFile file, Training.MlpSpec spec, Func<string, bool> given)
    {
        string Get(string name) => file.Metadata.TryGetValue(Key + name, out var v)
            ? v
            : throw new CheckpointFormatException(file.Source, $"metadata {Key + name} is missing; was this checkpoint written by `train`?");
        double? Optional(string name) => !file.Metadata.ContainsKey(Key + name) ? null
            : Parse(name, t => (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && double.IsFinite(v), v));
        T Parse<T>(string name, Func<string, (bool, T)> parse)
        {
            var (ok, value) = parse(Get(name));
            return ok ? value : throw new CheckpointFormatException(file.Source, $"metadata {Key + name} {OptionValues.Quote(Get(name))} cannot be read");
        }
        var resumed = this with
        {
            Optimizer = Parse("optimizer", t => (OptimizerFactory.Names.Contains(t), t)),
            LearningRate = Parse("lr", t => (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && double.IsFinite(v), v)),
            BatchSize = Parse("batch_size", t => (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v is > 0 and <= CliLimits.BatchSize, v)),
            Seed = Parse("seed", t => (ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var v), v)),
            Shuffle = Parse("shuffle", t => (t is "true" or "false", t == "true")),
            Hidden = spec.Hidden.ToArray(),
            Activation = spec.Activation,
            Dropout = spec.Dropout,
            LayerNorm = spec.LayerNorm,
            Schedule = file.Metadata.TryGetValue(Key + "lr_schedule", out string? schedule) ? ReadSchedule(file, schedule) : null,
            ClipGradNorm = Optional("clip_grad_norm"),
            ClipGradValue = Optional("clip_grad_value"),
            Task = ReadTask(file),
            Target = file.Metadata.GetValueOrDefault(TargetKey),
            Standardize = file.Metadata.TryGetValue(StandardizeKey, out string? standardize)
                ? standardize is "true" or "false" ? standardize == "true"
                    : throw new CheckpointFormatException(file.Source, $"metadata {StandardizeKey} {OptionValues.Quote(standardize)} is neither true nor false")
                : false,
            // Checkpoints written before plans existed ran layer by layer.
            Plan = file.Metadata.TryGetValue(Key + "plan", out string? plan)
                ? Enum.TryParse(plan, ignoreCase: true, out StepPlan recorded) && Enum.IsDefined(recorded) && CommonOptions.PlanName(recorded) == plan ? recorded
                    : throw new CheckpointFormatException(file.Source, $"metadata {Key}plan {OptionValues.Quote(plan)} is not layers, epilogues or fused")
                : StepPlan.Layers,
            TestFraction = Optional("test_fraction") is { } fraction
                ? fraction < 1 ? fraction : throw new CheckpointFormatException(file.Source, $"metadata {Key}test_fraction {fraction} is not below 1")
                : 0.2,
        };
        Conflict(given, "--optimizer", Optimizer, resumed.Optimizer);
        Conflict(given, "--lr", LearningRate, resumed.LearningRate);
        Conflict(given, "--batch-size", BatchSize, resumed.BatchSize);
        Conflict(given, "--seed", Seed, resumed.Seed);
        FlagConflict(given, "--no-shuffle", !Shuffle, !resumed.Shuffle);
        Conflict(given, "--hidden", string.Join(",", Hidden), string.Join(",", resumed.Hidden));
        Conflict(given, "--activation", Activation, resumed.Activation);
        Conflict(given, "--dropout", Dropout, resumed.Dropout);
        FlagConflict(given, "--layer-norm", LayerNorm, resumed.LayerNorm);
        Conflict(given, "--lr-schedule", Schedule?.ToString() ?? "none", resumed.Schedule?.ToString() ?? "none");
        Conflict(given, "--clip-grad-norm", Text(ClipGradNorm), Text(resumed.ClipGradNorm));
        Conflict(given, "--clip-grad-value", Text(ClipGradValue), Text(resumed.ClipGradValue));
        Conflict(given, "--task", Task, resumed.Task);
        Conflict(given, "--target", Target ?? "none", resumed.Target ?? "none");
        Conflict(given, "--test-fraction", TestFraction, resumed.TestFraction);
        FlagConflict(given, "--no-standardize", !Standardize, !resumed.Standardize);
        // --plan auto on a resume takes the plan the checkpoint's run chose.
        if (Plan is not null) Conflict(given, "--plan", PlanName, resumed.PlanName);
        if (given("--init")) throw new CliException("--init and --resume cannot be combined: --resume already restores the weights");
        return resumed;
    }

    /// <summary>The task a checkpoint was trained for: absent (a classifier saved before tasks existed), or one of the two.</summary>
    public static Training.TrainingTask ReadTask(SafetensorsFile file) => file.Metadata.GetValueOrDefault(TaskKey) switch
    {
        null or "classification" => Training.TrainingTask.Classification,
        "regression" => Training.TrainingTask.Regression,
        var other => throw new CheckpointFormatException(file.Source, $"metadata {TaskKey} {OptionValues.Quote(other)} is neither classification nor regression"),
    };

    /// <summary>The number of ranks that trained a checkpoint: absent means one; anything but a whole number from 1 up is refused.</summary>
    public static int ReadWorldSize(SafetensorsFile file)
    {
        if (!file.Metadata.TryGetValue(WorldSizeKey, out string? text)) return 1;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n
            : throw new CheckpointFormatException(file.Source, $"metadata {WorldSizeKey} {OptionValues.Quote(text)} is not a number of ranks (1 or more)");
    }

    private static string Text(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "none";

    private static LRScheduleSpec ReadSchedule(SafetensorsFile file, string text)
    {
        try
        {
            return LRScheduleSpec.Parse(text);
        }
        catch (CliException e)
        {
            throw new CheckpointFormatException(file.Source, $"metadata {Key}lr_schedule cannot be read: {e.Message}");
        }
    }

    /// <summary>A flag given to a resumed run (as itself, or as `FLAG false`) that the checkpoint was trained the other way.</summary>
    private static void FlagConflict(Func<string, bool> given, string flag, bool asked, bool saved)
    {
        if (given(flag) && asked != saved)
            throw new CliException($"{flag}: the checkpoint was trained with{(saved ? "" : "out")} it; a resumed run keeps the checkpoint's settings (leave {flag} out)");
    }

    private static void Conflict<T>(Func<string, bool> given, string option, T asked, T saved)
    {
        if (given(option) && !EqualityComparer<T>.Default.Equals(asked, saved))
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"{option} {asked} differs from the checkpoint's {saved}; a resumed run keeps the checkpoint's settings (leave {option} out)"));
    }
}

internal static class OptimizerFactory
{
    /// <summary>The optimizers `train` offers (--optimizer), the default first.</summary>
    public static readonly string[] Names = ["adam", "adamw", "sgd"];

    /// <summary>The optimizer named on the command line, with PyTorch's defaults but for the learning rate.</summary>
    public static Optimizer Create(string name, IEnumerable<Parameter> parameters, double lr) => name switch
    {
        "adam" => new Adam(parameters, lr: lr),
        "adamw" => new AdamW(parameters, lr: lr),
        "sgd" => new SGD(parameters, lr: lr),
        _ => throw new CliException($"--optimizer: unknown optimizer '{name}'; expected adam, adamw or sgd"),
    };
}
