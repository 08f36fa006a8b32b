using System.Globalization;
using CudaNn.Training;

namespace CudaNn.Cli.Commands;

/// <summary>The lines the commands print, in one place so train and eval read the same.</summary>
internal static class Report
{
    public static string Epoch(EpochResult train, EvaluationResult test, int epochs) => string.Create(CultureInfo.InvariantCulture,
        $"Epoch {train.Epoch}/{epochs}: loss {train.TrainLoss:F4}  {TestFigures(test)}  " +
        $"{train.SamplesPerSecond,9:N0} samples/s  {train.Elapsed.TotalSeconds:F2} s  lr {train.LearningRate:G6}");

    /// <summary>A classifier's test accuracy and loss, or a regression's test RMSE and mean squared error.</summary>
    public static string TestFigures(EvaluationResult test) => test.Task == TrainingTask.Regression
        ? string.Create(CultureInfo.InvariantCulture, $"Test RMSE: {test.RootMeanSquaredError:G5} ({Rows(test.Count)}, test MSE {test.MeanLoss:G5})")
        : string.Create(CultureInfo.InvariantCulture, $"Test Accuracy: {100 * test.Accuracy:F2}% ({test.Correct}/{test.Count}, test loss {test.MeanLoss:F4})");

    /// <summary>"1 row", "20 rows", or with a word before the noun: "1 test row".</summary>
    public static string Rows(long count, string kind = "") =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {kind}row{(count == 1 ? "" : "s")}");
}
