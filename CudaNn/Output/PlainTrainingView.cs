using CudaNn.Cli.Commands;
using CudaNn.Training;
using Spectre.Console;

namespace CudaNn.Cli.Output;

/// <summary>One line per event and a closing table: what a log file, a CI job or a test sees.</summary>
internal class PlainTrainingView(CliContext context) : ITrainingView
{
    protected CliContext Context { get; } = context;

    public virtual int Run(Func<int> training) => training();

    public void Header(string line) => Line(line);

    public virtual Action<BatchProgress>? Progress => null;

    public virtual void EpochDone(EpochResult train, EvaluationResult test, int epochs) => Line(Report.Epoch(train, test, epochs));

    public void Note(string line) => Line(line);

    public void PlanChosen(PlanChoice choice) => Line($"plan {choice}");

    public void Finished(TrainingSummary summary) => Context.Console.Write(SummaryTable.Create(summary));

    /// <summary>Written as is, never wrapped, so each event stays one greppable line.</summary>
    protected virtual void Line(string text) => Context.Output.WriteLine(text);
}
