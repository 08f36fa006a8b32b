using CudaNn.Nn;
using CudaNn.Optim;

namespace CudaNn.Checkpoints;

/// <summary>
/// A checkpoint that loses nothing: the model's parameters under PyTorch's names (as <see cref="ModelCheckpoint"/>
/// writes them, so torch still loads the file), plus, under names starting with "cudann.", the optimizer's step
/// count and flat state buffers and the <see cref="TrainingPosition"/>. Restoring all of it into a freshly built
/// model and optimizer continues training bit for bit as if it had never stopped.
/// </summary>
public static class TrainingCheckpoint
{
    private const string Prefix = ModelCheckpoint.TrainingStatePrefix;
    private const string StepName = Prefix + "optim.step";
    private const string StatePrefix = Prefix + "optim.";
    private const string EpochsName = Prefix + "train.epochs_completed";
    private const string GeneratorName = Prefix + "train.generator";
    private const string TrainLossName = Prefix + "history.train_loss";
    private const string TestLossName = Prefix + "history.test_loss";
    private const string TestAccuracyName = Prefix + "history.test_accuracy";

    /// <summary>Metadata key naming the optimizer class ("adam", "adamw", "sgd").</summary>
    public const string OptimizerKey = Prefix + "optimizer";

    /// <summary>Writes model, optimizer state and position atomically (temporary file, flush, rename).</summary>
    public static void Save(string path, Module model, Optimizer optimizer, TrainingPosition position,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        position.Validate(path);
        var state = new List<SafetensorsEntry> { SafetensorsEntry.FromInt64s(StepName, [], [optimizer.StepCount]) };
        foreach (var (key, buffer) in optimizer.StateBuffers())
        {
            long[] shape = [buffer.Numel];
            state.Add(buffer.DType == DType.Float64
                ? SafetensorsEntry.FromDoubles(StatePrefix + key, shape, buffer.ToArray<double>())
                : SafetensorsEntry.FromFloats(StatePrefix + key, shape, buffer.ToArray<float>()));
        }
        state.Add(SafetensorsEntry.FromInt64s(EpochsName, [], [position.EpochsCompleted]));
        state.Add(SafetensorsEntry.FromInt64s(GeneratorName, [4], position.GeneratorState.Select(w => unchecked((long)w)).ToArray()));
        long[] historyShape = [position.History.Count];
        state.Add(SafetensorsEntry.FromDoubles(TrainLossName, historyShape, position.History.Select(h => h.TrainLoss).ToArray()));
        state.Add(SafetensorsEntry.FromDoubles(TestLossName, historyShape, position.History.Select(h => h.TestLoss).ToArray()));
        state.Add(SafetensorsEntry.FromDoubles(TestAccuracyName, historyShape, position.History.Select(h => h.TestAccuracy).ToArray()));

        var allMetadata = metadata is null ? new Dictionary<string, string>() : new Dictionary<string, string>(metadata);
        allMetadata[OptimizerKey] = optimizer.GetType().Name.ToLowerInvariant();
        ModelCheckpoint.Save(model, path, allMetadata, state);
    }

    /// <summary>True when the file holds optimizer state and a training position, not only weights.</summary>
    public static bool HasTrainingState(SafetensorsFile file) => file.Find(EpochsName) is not null;

    /// <summary>
    /// Restores parameters and optimizer state from <paramref name="file"/> and returns the position to continue from.
    /// Everything is read and checked before anything is overwritten, so a bad file leaves model and optimizer as they were.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file lacks training state, or it does not fit this model and optimizer.</exception>
    public static TrainingPosition Load(SafetensorsFile file, Module model, Optimizer optimizer)
    {
        if (!HasTrainingState(file))
            throw new CheckpointFormatException(file.Source, $"holds weights only, no training state ({EpochsName} is missing); it cannot be resumed");
        string saved = file.Metadata.GetValueOrDefault(OptimizerKey, "?");
        string current = optimizer.GetType().Name.ToLowerInvariant();
        if (saved != current)
            throw new CheckpointFormatException(file.Source, $"was saved by the {saved} optimizer; it cannot resume {current}");

        long steps = Scalar(file, StepName);
        if (steps < 0) throw new CheckpointFormatException(file.Source, $"{StepName} is {steps}; it cannot be negative");
        var buffers = optimizer.StateBuffers();
        var expected = buffers.Keys.Select(k => StatePrefix + k).ToHashSet();
        var present = file.Tensors.Select(t => t.Name).Where(n => n.StartsWith(StatePrefix, StringComparison.Ordinal) && n != StepName).ToHashSet();
        if (!present.SetEquals(expected))
            throw new CheckpointFormatException(file.Source,
                $"optimizer state [{string.Join(", ", present.Order())}] does not match {current}'s [{string.Join(", ", expected.Order())}]");
        var values = buffers.ToDictionary(b => b.Key, b => b.Value.DType == DType.Float64
            ? Tensor.FromArray(file.GetDoubles(StatePrefix + b.Key, [b.Value.Numel]), [checked((int)b.Value.Numel)])
            : Tensor.FromArray(file.GetFloats(StatePrefix + b.Key, [b.Value.Numel]), [checked((int)b.Value.Numel)]));
        try
        {
            var position = ReadPosition(file);
            ModelCheckpoint.Load(model, file);
            foreach (var (key, buffer) in buffers)
            {
                using var onDevice = values[key].To(buffer.Device);
                buffer.Backend.Copy(onDevice, buffer);
            }
            optimizer.RestoreStepCount(steps);
            return position;
        }
        finally
        {
            foreach (var t in values.Values) t.Dispose();
        }
    }

    /// <summary>The position alone, e.g. to show where a checkpoint stands.</summary>
    public static TrainingPosition ReadPosition(SafetensorsFile file)
    {
        long epochs = Scalar(file, EpochsName);
        if (epochs is < 0 or > int.MaxValue)
            throw new CheckpointFormatException(file.Source, $"{EpochsName} is {epochs}; expected 0 to {int.MaxValue}");
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
        if (EpochsCompleted < 0)
            throw new CheckpointFormatException(source, $"epochs completed is {EpochsCompleted}; it cannot be negative");
        if (GeneratorState is not { Length: 4 } || GeneratorState.All(w => w == 0))
            throw new CheckpointFormatException(source, "the generator state must be four words, not all zero");
        if (History.Count > EpochsCompleted)
            throw new CheckpointFormatException(source, $"history has {History.Count} epochs but only {EpochsCompleted} were completed");
    }
}
