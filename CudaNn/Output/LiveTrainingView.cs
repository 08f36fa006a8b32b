using System.Globalization;
using CudaNn.Training;
using Spectre.Console;

namespace CudaNn.Cli.Output;

/// <summary>
/// On a terminal: a progress bar per epoch with samples/s, the running loss and the time left, redrawn in place;
/// each finished epoch leaves its plain result line above the bars.
/// </summary>
internal sealed class LiveTrainingView(CliContext context) : PlainTrainingView(context)
{
    private ProgressContext? _progress;
    private ProgressTask? _task;
    private int _taskEpoch;

    public override int Run(Func<int> training) => Context.Console.Progress()
        .AutoClear(false)
        .HideCompleted(true)
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
        .Start(ctx =>
        {
            _progress = ctx;
            return training();
        });

    public override Action<BatchProgress>? Progress => Update;

    private void Update(BatchProgress p)
    {
        if (_progress is null) return;
        if (_task is null || _taskEpoch != p.Epoch)
        {
            _task?.StopTask();
            _task = _progress.AddTask($"Epoch {p.Epoch}", maxValue: p.Batches);
            _taskEpoch = p.Epoch;
        }
        _task.Description = string.Create(CultureInfo.InvariantCulture,
            $"Epoch {p.Epoch}  loss {p.RunningLoss:F4}  {p.SamplesPerSecond,9:N0} samples/s");
        _task.Value = p.Batch;
    }

    public override void EpochDone(EpochResult train, EvaluationResult test, int epochs)
    {
        _task?.StopTask();
        base.EpochDone(train, test, epochs);
    }

    /// <summary>Through Spectre, so the lines land above the live bars instead of through them.</summary>
    protected override void Line(string text) => Context.Console.MarkupLine(Markup.Escape(text));
}
