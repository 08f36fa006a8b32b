using CudaNn.Checkpoints;

namespace CudaNn.Cli.Plots;

/// <summary>`train --plot`: training and test loss (left axis) and test accuracy (right axis) per epoch.</summary>
internal static class TrainingPlot
{
    public const int Width = 800, Height = 500;

    public static void Save(string path, IReadOnlyList<EpochRecord> history, string model)
    {
        double[] epochs = history.Select(h => (double)h.Epoch).ToArray();
        var chart = new LineChart
        {
            Title = $"CudaNn train: {model}",
            XLabel = "epoch",
            LeftLabel = "mean cross-entropy loss",
            RightLabel = "test accuracy (%)",
            Legend = LegendPlace.MiddleRight,
            Series =
            [
                new Series("train loss (left axis)", epochs, history.Select(h => h.TrainLoss).ToArray(), LineChart.Palette[0]),
                new Series("test loss (left axis)", epochs, history.Select(h => h.TestLoss).ToArray(), LineChart.Palette[1]),
                new Series("test accuracy, % (right axis)", epochs, history.Select(h => 100 * h.TestAccuracy).ToArray(), LineChart.Palette[2], 2, RightAxis: true),
            ],
        };
        PngFile.Save(path, Width, Height, canvas => chart.Draw(canvas, 0, 0, Width, Height));
    }
}
