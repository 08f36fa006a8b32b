using CudaNn.Training;

namespace CudaNn.Cli.Output;

/// <summary>The figures of a finished (or stopped) training run, for the summary table and the final JSON object.</summary>
internal sealed record TrainingSummary(
    string Model, int EpochsCompleted, long Steps, double? TrainLoss, EvaluationResult? Test, string? SavedTo, TimeSpan Elapsed)
{
    /// <summary>How the MLP's layers ran on a GPU or the emulator (--plan); null on the CPU.</summary>
    public string? Plan { get; init; }
}

/// <summary>How `train` shows what it does: plain lines, a live terminal display, or JSON for scripts.</summary>
internal interface ITrainingView
{
    /// <summary>Runs <paramref name="training"/>, wrapping it in whatever live display this view draws.</summary>
    int Run(Func<int> training);

    /// <summary>Lines that say what is about to happen (model, data, optimizer).</summary>
    void Header(string line);

    /// <summary>Called during an epoch with the running figures; may be null when nothing is drawn live.</summary>
    Action<BatchProgress>? Progress { get; }

    void EpochDone(EpochResult train, EvaluationResult test, int epochs);

    /// <summary>A note that is not an epoch result: a checkpoint written, a NaN warning.</summary>
    void Note(string line);

    /// <summary>The plan --plan auto chose, with the timings it chose by.</summary>
    void PlanChosen(PlanChoice choice);

    void Finished(TrainingSummary summary);
}

/// <summary>The view of a data-parallel rank other than 0: it trains in silence, since rank 0 speaks for the job.</summary>
internal sealed class QuietTrainingView : ITrainingView
{
    public int Run(Func<int> training) => training();
    public void Header(string line) { }
    public Action<BatchProgress>? Progress => null;
    public void EpochDone(EpochResult train, EvaluationResult test, int epochs) { }
    public void Note(string line) { }
    public void PlanChosen(PlanChoice choice) { }
    public void Finished(TrainingSummary summary) { }
}
