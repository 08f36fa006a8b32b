namespace CudaNn.Checkpoints;

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
