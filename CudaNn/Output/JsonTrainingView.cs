using System.Text.Json;
using System.Text.Json.Serialization;
using CudaNn.Training;

namespace CudaNn.Cli.Output;

/// <summary>`--json`: one JSON object per line, per epoch and at the end, and nothing else on stdout.</summary>
internal sealed class JsonTrainingView(CliContext context) : ITrainingView
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public int Run(Func<int> training) => training();

    public void Header(string line)
    {
    }

    public Action<BatchProgress>? Progress => null;

    public void EpochDone(EpochResult train, EvaluationResult test, int epochs) => Write(new
    {
        Event = "epoch",
        train.Epoch,
        Epochs = epochs,
        train.Steps,
        train.TrainLoss,
        train.LearningRate,
        TestLoss = test.MeanLoss,
        TestAccuracy = test.Task == TrainingTask.Classification ? test.Accuracy : (double?)null,
        TestRmse = test.Task == TrainingTask.Regression ? test.RootMeanSquaredError : (double?)null,
        train.SamplesPerSecond,
        Seconds = train.Elapsed.TotalSeconds,
        Plan = train.Plan is { } plan ? Commands.CommonOptions.PlanName(plan) : null,
    });

    public void Note(string line) => Write(new { Event = "note", Message = line });

    public void PlanChosen(PlanChoice choice) => Write(new
    {
        Event = "plan",
        Plan = Commands.CommonOptions.PlanName(choice.Plan),
        choice.FromCache,
        TuningSeconds = choice.Elapsed.TotalSeconds,
        Timings = choice.Timings.Select(t => new { Plan = Commands.CommonOptions.PlanName(t.Plan), t.MicrosecondsPerStep, t.Replays, t.WhyNot }),
    });

    public void Finished(TrainingSummary s) => Write(new
    {
        Event = "summary",
        s.Model,
        s.Plan,
        s.EpochsCompleted,
        s.Steps,
        s.TrainLoss,
        TestLoss = s.Test?.MeanLoss,
        TestAccuracy = s.Test is { Task: TrainingTask.Classification } c ? c.Accuracy : (double?)null,
        TestRmse = s.Test is { Task: TrainingTask.Regression } r ? r.RootMeanSquaredError : (double?)null,
        s.SavedTo,
        Seconds = s.Elapsed.TotalSeconds,
    });

    private void Write<T>(T value) => context.Output.WriteLine(JsonSerializer.Serialize(value, Options));
}
