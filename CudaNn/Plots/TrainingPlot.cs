using CudaNn.Checkpoints;
using ScottPlot;

namespace CudaNn.Cli.Plots;

/// <summary>`train --plot`: training and test loss (left axis) and test accuracy (right axis) per epoch.</summary>
internal static class TrainingPlot
{
    public const int Width = 800, Height = 500;

    public static void Save(string path, IReadOnlyList<EpochRecord> history, string model)
    {
        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        var plot = new Plot();
        var trainLoss = plot.Add.Scatter(epochs, history.Select(h => h.TrainLoss).ToArray());
        trainLoss.LegendText = "train loss (left axis)";
        var testLoss = plot.Add.Scatter(epochs, history.Select(h => h.TestLoss).ToArray());
        testLoss.LegendText = "test loss (left axis)";
        var accuracy = plot.Add.Scatter(epochs, history.Select(h => 100 * h.TestAccuracy).ToArray());
        accuracy.LegendText = "test accuracy, % (right axis)";
        accuracy.Axes.YAxis = plot.Axes.Right;
        accuracy.LineWidth = 2;
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.Left.Label.Text = "mean cross-entropy loss";
        plot.Axes.Right.Label.Text = "test accuracy (%)";
        plot.Title($"CudaNn train: {model}");
        plot.ShowLegend(Alignment.MiddleRight);
        PngFile.Save(path, Width, Height, canvas => plot.Render(canvas, Width, Height));
    }
}
