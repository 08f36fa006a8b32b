using System.Globalization;
using CudaNn.Cli.Commands;
using Spectre.Console;

namespace CudaNn.Cli.Output;

/// <summary>The table `train` ends with.</summary>
internal static class SummaryTable
{
    public static Table Create(TrainingSummary s)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Training summary").AddColumn("").AddColumn("");
        table.HideHeaders();
        Add(table, "model", s.Model);
        if (s.Plan is { } plan) Add(table, "plan", plan);
        Add(table, "epochs completed", s.EpochsCompleted.ToString(CultureInfo.InvariantCulture));
        Add(table, "optimizer steps", s.Steps.ToString(CultureInfo.InvariantCulture));
        if (s.TrainLoss is { } loss) Add(table, "last train loss", loss.ToString("F4", CultureInfo.InvariantCulture));
        if (s.Test is { Task: Training.TrainingTask.Regression } regression)
        {
            Add(table, "test RMSE", string.Create(CultureInfo.InvariantCulture, $"{regression.RootMeanSquaredError:G5} ({Report.Rows(regression.Count)})"));
            Add(table, "test MSE", regression.MeanLoss.ToString("G5", CultureInfo.InvariantCulture));
        }
        else if (s.Test is { } test)
        {
            Add(table, "test accuracy", string.Create(CultureInfo.InvariantCulture, $"{100 * test.Accuracy:F2}% ({test.Correct}/{test.Count})"));
            Add(table, "test loss", test.MeanLoss.ToString("F4", CultureInfo.InvariantCulture));
        }
        Add(table, "checkpoint", s.SavedTo ?? "(not saved)");
        Add(table, "time", string.Create(CultureInfo.InvariantCulture, $"{s.Elapsed.TotalSeconds:F2} s"));
        return table;
    }

    private static void Add(Table table, string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));
}
