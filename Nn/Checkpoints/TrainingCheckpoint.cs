using CudaNn.Nn;
using CudaNn.Optim;

namespace CudaNn.Checkpoints;

/// <summary>
/// A checkpoint that loses nothing: the model's parameters under PyTorch's names (as <see cref="ModelCheckpoint"/>
/// writes them, so torch still loads the file), plus, under names starting with "cudann.", the optimizer's step
/// count, learning rate and flat state buffers, the learning-rate schedule's position when there is one, each
/// <see cref="Dropout"/> layer's seed and count of masks drawn, and the <see cref="TrainingPosition"/>. Restoring all of it into a freshly built model, optimizer and schedule continues
/// training bit for bit as if it had never stopped.
/// </summary>
public static class TrainingCheckpoint
{
    private const string Prefix = ModelCheckpoint.TrainingStatePrefix;
    private const string StepName = Prefix + "optim.step";
    private const string ParameterStepsName = Prefix + "optim.param_step";
    private const string StatePrefix = Prefix + "optim.";
    private const string LearningRateName = Prefix + "optim.lr";
    private const string InitialLearningRateName = Prefix + "optim.initial_lr";
    private const string WeightDecayName = Prefix + "optim.weight_decay";
    private const string SchedulePrefix = Prefix + "lr_scheduler.";
    private const string ScheduleEpochsName = SchedulePrefix + "last_epoch";
    private const string ScheduleStepsName = SchedulePrefix + "step_count";
    private const string ScheduleBaseRatesName = SchedulePrefix + "base_lr";
    private const string ScheduleLastRatesName = SchedulePrefix + "last_lr";
    private const string DropoutPrefix = Prefix + "rng.";
    private const string EpochsName = Prefix + "train.epochs_completed";
    private const string GeneratorName = Prefix + "train.generator";
    private const string TrainLossName = Prefix + "history.train_loss";
    private const string TestLossName = Prefix + "history.test_loss";
    private const string TestAccuracyName = Prefix + "history.test_accuracy";

    /// <summary>
    /// The most epochs (and schedule steps) a checkpoint may count: 2^30, so that adding one or doubling never wraps an
    /// int, and far past any run (a million epochs of one step a millisecond take 17 minutes).
    /// </summary>
    public const int MaxEpochs = 1 << 30;

    /// <summary>The most optimizer steps a checkpoint may count: 2^53, exact in a double as the bias corrections use it, and never wrapping a long.</summary>
    public const long MaxSteps = 1L << 53;

    /// <summary>
    /// Metadata key giving the layout's version: absent in the first (one step count for every parameter), "2" since
    /// each parameter's own count is saved too (<see cref="Optimizer.ParameterStepCounts"/>).
    /// </summary>
    public const string FormatVersionKey = Prefix + "format_version";

    /// <summary>The layout this version writes, and the newest it reads.</summary>
    public const int FormatVersion = 2;

    /// <summary>Metadata key naming the optimizer class ("adam", "adamw", "sgd").</summary>
    public const string OptimizerKey = Prefix + "optimizer";

    /// <summary>Metadata key naming the learning-rate schedule and its settings, as the schedule's ToString() writes them.</summary>
    public const string ScheduleKey = Prefix + "lr_scheduler";

    /// <summary>
    /// Writes model, optimizer state, schedule and position atomically (temporary file, flush, rename), with
    /// <paramref name="extraTensors"/> (named under "cudann.", such as a <see cref="Data.Standardizer"/>'s) beside them.
    /// </summary>
    public static void Save(string path, Module model, Optimizer optimizer, TrainingPosition position,
        IReadOnlyDictionary<string, string>? metadata = null, LRScheduler? scheduler = null, IEnumerable<SafetensorsEntry>? extraTensors = null)
    {
        position.Validate(path);
        if (scheduler is not null && !ReferenceEquals(scheduler.Optimizer, optimizer))
            throw new ArgumentException($"the schedule {scheduler} belongs to another optimizer", nameof(scheduler));
        // One parameter group keeps the scalar layout of earlier checkpoints; several save one value per group, and
        // their weight decays too (one group's comes from the options the run is made with).
        var groups = optimizer.Groups;
        long[] perGroup = groups.Count == 1 ? [] : [groups.Count];
        var state = new List<SafetensorsEntry>
        {
            SafetensorsEntry.FromInt64s(StepName, [], [optimizer.StepCount]),
            SafetensorsEntry.FromInt64s(ParameterStepsName, [optimizer.Parameters.Count], optimizer.ParameterStepCounts()),
            SafetensorsEntry.FromDoubles(LearningRateName, perGroup, groups.Select(g => g.LearningRate).ToArray()),
        };
        if (groups[0].InitialLearningRate is not null)
            state.Add(SafetensorsEntry.FromDoubles(InitialLearningRateName, perGroup, groups.Select(g => g.InitialLearningRate!.Value).ToArray()));
        if (groups.Count > 1) state.Add(SafetensorsEntry.FromDoubles(WeightDecayName, perGroup, groups.Select(g => g.WeightDecay).ToArray()));
        foreach (var (key, flat) in optimizer.StateBuffers())
        {
            // Without the gaps the packing leaves between parameters: the file's layout does not depend on it.
            using var buffer = optimizer.Unpadded(flat);
            long[] shape = [buffer.Numel];
            state.Add(buffer.DType == DType.Float64
                ? SafetensorsEntry.FromDoubles(StatePrefix + key, shape, buffer.ToArray<double>())
                : SafetensorsEntry.FromFloats(StatePrefix + key, shape, buffer.ToArray<float>()));
        }
        foreach (var (name, dropout) in Dropouts(model))
            state.Add(SafetensorsEntry.FromInt64s(DropoutPrefix + name, [2], [unchecked((long)dropout.Seed), unchecked((long)dropout.Calls)]));
        state.Add(SafetensorsEntry.FromInt64s(EpochsName, [], [position.EpochsCompleted]));
        state.Add(SafetensorsEntry.FromInt64s(GeneratorName, [4], position.GeneratorState.Select(w => unchecked((long)w)).ToArray()));
        long[] historyShape = [position.History.Count];
        state.Add(SafetensorsEntry.FromDoubles(TrainLossName, historyShape, position.History.Select(h => h.TrainLoss).ToArray()));
        state.Add(SafetensorsEntry.FromDoubles(TestLossName, historyShape, position.History.Select(h => h.TestLoss).ToArray()));
        state.Add(SafetensorsEntry.FromDoubles(TestAccuracyName, historyShape, position.History.Select(h => h.TestAccuracy).ToArray()));

        var allMetadata = metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata);
        allMetadata[OptimizerKey] = optimizer.GetType().Name.ToLowerInvariant();
        allMetadata[FormatVersionKey] = FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (scheduler is not null)
        {
            var schedules = Flatten(scheduler.StateDict()).ToArray();
            long[] shape = [schedules.Length];
            long[] ratesShape = groups.Count == 1 ? shape : [schedules.Length, groups.Count];
            state.Add(SafetensorsEntry.FromInt64s(ScheduleEpochsName, shape, schedules.Select(s => (long)s.LastEpoch).ToArray()));
            state.Add(SafetensorsEntry.FromInt64s(ScheduleStepsName, shape, schedules.Select(s => (long)s.StepCount).ToArray()));
            state.Add(SafetensorsEntry.FromDoubles(ScheduleBaseRatesName, ratesShape, schedules.SelectMany(s => s.BaseLearningRates).ToArray()));
            state.Add(SafetensorsEntry.FromDoubles(ScheduleLastRatesName, ratesShape, schedules.SelectMany(s => s.LastLearningRates).ToArray()));
            allMetadata[ScheduleKey] = scheduler.ToString()!;
        }
        foreach (var extra in extraTensors ?? [])
        {
            if (!extra.Name.StartsWith(Prefix, StringComparison.Ordinal))
                throw new ArgumentException($"extra tensor '{extra.Name}' must be named under '{Prefix}', apart from the model's parameters", nameof(extraTensors));
            state.Add(extra);
        }
        ModelCheckpoint.Save(model, path, allMetadata, state);
    }

    /// <summary>
    /// Each parameter's own step count: saved since format 2, and in a first-format file every parameter's is the
    /// optimizer's. A count above the optimizer's, or a newer format, is refused.
    /// </summary>
    private static long[] ParameterSteps(SafetensorsFile file, Optimizer optimizer, long steps)
    {
        string? text = file.Metadata.GetValueOrDefault(FormatVersionKey);
        int version = text is null ? 1
            : int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= 1 ? v
            : throw new CheckpointFormatException(file.Source, $"metadata {FormatVersionKey} '{text}' is not a version number");
        if (version > FormatVersion)
            throw new CheckpointFormatException(file.Source, $"is in checkpoint format {version}, newer than the {FormatVersion} this CudaNn reads; use a newer CudaNn");
        if (version == 1)
        {
            if (file.Find(ParameterStepsName) is not null)
                throw new CheckpointFormatException(file.Source, $"holds {ParameterStepsName} but no {FormatVersionKey}");
            return Enumerable.Repeat(steps, optimizer.Parameters.Count).ToArray();
        }
        long[] counts = file.GetInt64s(ParameterStepsName, [optimizer.Parameters.Count]);
        for (int i = 0; i < counts.Length; i++)
            if (counts[i] < 0 || counts[i] > steps)
                throw new CheckpointFormatException(file.Source, $"{ParameterStepsName}[{i}] is {counts[i]}; a parameter's steps are 0 to the optimizer's {steps}");
        return counts;
    }

    /// <summary>The model's Dropout layers by dotted name ("drop1").</summary>
    private static IEnumerable<(string Name, Dropout Dropout)> Dropouts(Module model) =>
        model.NamedModules().Where(m => m.Module is Dropout).Select(m => (m.Name, (Dropout)m.Module));

    /// <summary>Each Dropout layer's saved (seed, calls); the file must hold exactly the model's layers.</summary>
    private static List<(Dropout Dropout, ulong Seed, ulong Calls)> ReadDropouts(SafetensorsFile file, Module model)
    {
        var layers = Dropouts(model).ToList();
        var expected = layers.Select(l => DropoutPrefix + l.Name).ToHashSet();
        var present = file.Tensors.Select(t => t.Name).Where(n => n.StartsWith(DropoutPrefix, StringComparison.Ordinal)).ToHashSet();
        if (!present.SetEquals(expected))
            throw new CheckpointFormatException(file.Source,
                $"dropout generator states [{string.Join(", ", present.Order())}] do not match the model's dropout layers [{string.Join(", ", expected.Order())}]");
        return layers.Select(l =>
        {
            var words = file.GetInt64s(DropoutPrefix + l.Name, [2]);
            return (l.Dropout, unchecked((ulong)words[0]), unchecked((ulong)words[1]));
        }).ToList();
    }

    /// <summary>A schedule's state and its parts', depth first, the order the checkpoint lists them in.</summary>
    private static IEnumerable<LRSchedulerState> Flatten(LRSchedulerState state) => state.Children.SelectMany(Flatten).Prepend(state);

    /// <summary>True when the file holds optimizer state and a training position, not only weights.</summary>
    public static bool HasTrainingState(SafetensorsFile file) => file.Find(EpochsName) is not null;

    /// <summary>
    /// Restores parameters and optimizer state from <paramref name="file"/> and returns the position to continue from.
    /// Everything is read and checked before anything is overwritten, so a bad file leaves model and optimizer as they were.
    /// A NaN or infinity in the weights or the optimizer's state is refused, naming where, unless <paramref name="allowNonFinite"/>.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file lacks training state, or it does not fit this model and optimizer.</exception>
    public static TrainingPosition Load(SafetensorsFile file, Module model, Optimizer optimizer, LRScheduler? scheduler = null, bool allowNonFinite = false)
    {
        if (!HasTrainingState(file))
            throw new CheckpointFormatException(file.Source, $"holds weights only, no training state ({EpochsName} is missing); it cannot be resumed");
        string saved = file.Metadata.GetValueOrDefault(OptimizerKey, "?");
        string current = optimizer.GetType().Name.ToLowerInvariant();
        if (saved != current)
            throw new CheckpointFormatException(file.Source, $"was saved by the {saved} optimizer; it cannot resume {current}");

        long steps = Scalar(file, StepName);
        if (steps is < 0 or > MaxSteps) throw new CheckpointFormatException(file.Source, $"{StepName} is {steps}; expected 0 to {MaxSteps}");
        long[] parameterSteps = ParameterSteps(file, optimizer, steps);
        var buffers = optimizer.StateBuffers();
        var expected = buffers.Keys.Select(k => StatePrefix + k).ToHashSet();
        var present = file.Tensors.Select(t => t.Name)
            .Where(n => n.StartsWith(StatePrefix, StringComparison.Ordinal) && n is not (StepName or ParameterStepsName or LearningRateName or InitialLearningRateName or WeightDecayName)).ToHashSet();
        if (!present.SetEquals(expected))
            throw new CheckpointFormatException(file.Source,
                $"optimizer state [{string.Join(", ", present.Order())}] does not match {current}'s [{string.Join(", ", expected.Order())}]");
        long unpadded = optimizer.Parameters.Sum(p => p.Numel);
        var values = buffers.ToDictionary(b => b.Key, b => FiniteValues.Read(file, StatePrefix + b.Key, [checked((int)unpadded)], b.Value.DType, allowNonFinite));
        // Checkpoints written before the learning rate was saved ran at the rate they were made with.
        var groups = optimizer.Groups;
        double[]? rates = PerGroup(file, LearningRateName, groups.Count);
        double[]? initialRates = PerGroup(file, InitialLearningRateName, groups.Count);
        double[]? weightDecays = groups.Count == 1 ? null : PerGroup(file, WeightDecayName, groups.Count);
        var schedule = ReadSchedule(file, scheduler);
        var dropouts = ReadDropouts(file, model);
        try
        {
            var position = ReadPosition(file);
            ModelCheckpoint.Load(model, file, allowNonFinite);
            foreach (var (key, buffer) in buffers)
            {
                using var onDevice = values[key].To(buffer.Device);
                optimizer.CopyUnpadded(onDevice, buffer);
            }
            optimizer.RestoreStepCounts(steps, parameterSteps);
            for (int i = 0; i < groups.Count; i++)
            {
                if (rates is not null) groups[i].LearningRate = rates[i];
                if (weightDecays is not null) groups[i].WeightDecay = weightDecays[i];
                if (initialRates is not null) groups[i].InitialLearningRate = initialRates[i];
            }
            if (schedule is not null) scheduler!.LoadStateDict(schedule);
            foreach (var (dropout, seed, calls) in dropouts) dropout.SetRngState(seed, calls);
            return position;
        }
        finally
        {
            foreach (var t in values.Values) t.Dispose();
        }
    }

    /// <summary>
    /// The saved schedule's state, shaped as <paramref name="scheduler"/>'s, or null when neither the file nor the
    /// run has a schedule; a schedule on one side only, or a different one, is an error.
    /// </summary>
    private static LRSchedulerState? ReadSchedule(SafetensorsFile file, LRScheduler? scheduler)
    {
        string? saved = file.Metadata.GetValueOrDefault(ScheduleKey);
        if (saved is null && scheduler is null) return null;
        if (saved is null)
            throw new CheckpointFormatException(file.Source, $"was saved without a learning-rate schedule; it cannot resume {scheduler}");
        if (scheduler is null)
            throw new CheckpointFormatException(file.Source, $"was saved with the learning-rate schedule {saved}; resume it with the same schedule");
        if (saved != scheduler.ToString())
            throw new CheckpointFormatException(file.Source, $"was saved with the learning-rate schedule {saved}; it cannot resume {scheduler}");

        var template = Flatten(scheduler.StateDict()).ToArray();
        int groups = scheduler.Optimizer.Groups.Count;
        long[] shape = [template.Length];
        long[] ratesShape = groups == 1 ? shape : [template.Length, groups];
        long[] epochs = file.GetInt64s(ScheduleEpochsName, shape), steps = file.GetInt64s(ScheduleStepsName, shape);
        double[] baseRates = file.GetDoubles(ScheduleBaseRatesName, ratesShape), lastRates = file.GetDoubles(ScheduleLastRatesName, ratesShape);
        for (int i = 0; i < template.Length; i++)
            if (epochs[i] is < -1 or > MaxEpochs || steps[i] is < 0 or > MaxEpochs ||
                !baseRates.AsSpan(i * groups, groups).ToArray().Concat(lastRates.AsSpan(i * groups, groups).ToArray()).All(double.IsFinite))
                throw new CheckpointFormatException(file.Source, $"the state of schedule {i} ({template[i].Schedule}) is out of range");
        int next = 0;
        LRSchedulerState Fill(LRSchedulerState shapeOf)
        {
            int i = next++;
            var children = shapeOf.Children.Select(Fill).ToArray();
            return new LRSchedulerState(shapeOf.Schedule, (int)epochs[i], (int)steps[i], baseRates.AsSpan(i * groups, groups).ToArray(),
                lastRates.AsSpan(i * groups, groups).ToArray(), children);
        }
        return Fill(scheduler.StateDict());
    }

    /// <summary>The position alone, e.g. to show where a checkpoint stands.</summary>
    public static TrainingPosition ReadPosition(SafetensorsFile file)
    {
        long epochs = Scalar(file, EpochsName);
        if (epochs is < 0 or > MaxEpochs)
            throw new CheckpointFormatException(file.Source, $"{EpochsName} is {epochs}; expected 0 to {MaxEpochs}");
        var generator = file.GetInt64s(GeneratorName, [4]).Select(w => unchecked((ulong)w)).ToArray();
        var trainLoss = file.GetDoubles(TrainLossName);
        var testLoss = file.GetDoubles(TestLossName);
        var testAccuracy = file.GetDoubles(TestAccuracyName);
        if (trainLoss.Length != testLoss.Length || trainLoss.Length != testAccuracy.Length || file.Get(TrainLossName).Shape.Count != 1)
            throw new CheckpointFormatException(file.Source, "the history tensors differ in length or are not 1-d");
        int first = (int)epochs - trainLoss.Length + 1;
        var history = Enumerable.Range(0, trainLoss.Length)
            .Select(i => new EpochRecord(first + i, trainLoss[i], testLoss[i], testAccuracy[i])).ToList();
        var position = new TrainingPosition((int)epochs, generator, history);
        position.Validate(file.Source);
        return position;
    }

    /// <summary>
    /// One finite, non-negative value per parameter group, or null when the file lacks <paramref name="name"/>: a scalar
    /// for one group (the layout of every single-group checkpoint), [groups] for several.
    /// </summary>
    private static double[]? PerGroup(SafetensorsFile file, string name, int groups)
    {
        if (file.Find(name) is null) return null;
        double[] values = file.GetDoubles(name, groups == 1 ? [] : [groups]);
        foreach (double v in values)
            if (!(v >= 0 && double.IsFinite(v)))
                throw new CheckpointFormatException(file.Source, $"{name} holds {v}; expected finite values, 0 or above");
        return values;
    }

    private static long Scalar(SafetensorsFile file, string name)
    {
        var values = file.GetInt64s(name, []);
        return values[0];
    }
}

/// <summary>One finished epoch as a training checkpoint remembers it, so curves survive a resume.</summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TestLoss, double TestAccuracy);

/// <summary>
/// Where training stands after <see cref="EpochsCompleted"/> epochs: the state of the generator that shuffles
/// the data (so epoch k+1 draws the same permutation as in an uninterrupted run) and the history so far.
/// </summary>
public sealed record TrainingPosition(int EpochsCompleted, ulong[] GeneratorState, IReadOnlyList<EpochRecord> History)
{
    /// <summary>Checks the values before they are written or used; a zero generator state is invalid for xoshiro.</summary>
    internal void Validate(string source)
    {
        if (EpochsCompleted is < 0 or > TrainingCheckpoint.MaxEpochs)
            throw new CheckpointFormatException(source, $"epochs completed is {EpochsCompleted}; expected 0 to {TrainingCheckpoint.MaxEpochs}");
        if (GeneratorState is not { Length: 4 } || GeneratorState.All(w => w == 0))
            throw new CheckpointFormatException(source, "the generator state must be four words, not all zero");
        if (History.Count > EpochsCompleted)
            throw new CheckpointFormatException(source, $"history has {History.Count} epochs but only {EpochsCompleted} were completed");
    }
}
