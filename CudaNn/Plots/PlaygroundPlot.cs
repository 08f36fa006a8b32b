using CudaNn.Cli.Playground;

namespace CudaNn.Cli.Plots;

/// <summary>
/// `playground`'s picture: on the left the plane coloured by the model's class-1 probability (orange for class 0,
/// blue for class 1, as in the TensorFlow playground) with the training points filled and the test points ringed;
/// on the right the training and test loss per epoch.
/// </summary>
internal static class PlaygroundPlot
{
    public const int PanelSize = 500, Width = 2 * PanelSize, Height = PanelSize;

    private static readonly Rgb Class0 = new(245, 147, 34), Class1 = new(8, 119, 189);

    public static void Save(string path, PlaygroundResult result, string title)
    {
        PngFile.Save(path, Width, Height, canvas =>
        {
            DrawBoundary(canvas, result, title);
            LossChart(result).Draw(canvas, PanelSize, 0, PanelSize, PanelSize);
        });
    }

    private static void DrawBoundary(Canvas canvas, PlaygroundResult result, string title)
    {
        const int margin = 30;
        const double side = PanelSize - 2 * margin;
        int n = result.Boundary.GetLength(0);
        // Cells on whole pixels, so that neighbours meet without a blended seam between them.
        double Edge(int i) => Math.Round(margin + i * side / n);
        for (int row = 0; row < n; row++)
            for (int col = 0; col < n; col++)
                canvas.FillRect(Edge(col), Edge(row), Edge(col + 1) - Edge(col), Edge(row + 1) - Edge(row), Blend(result.Boundary[row, col]));
        DrawPoints(result.Train, (x, y, label) =>
        {
            canvas.FillCircle(x, y, 4, label == 1 ? Class1 : Class0);
            canvas.StrokeCircle(x, y, 4, 1, Rgb.White);
        });
        DrawPoints(result.Test, (x, y, label) => canvas.StrokeCircle(x, y, 4, 2, label == 1 ? Class1 : Class0));
        canvas.StrokeRect(margin, margin, side, side, 1, Rgb.Grey);
        canvas.DrawText(title, margin, margin - 10, 15, Rgb.Black);
        canvas.DrawText($"train accuracy {100 * result.TrainAccuracy:F1}%   test accuracy {100 * result.TestAccuracy:F1}%   (filled: train, ringed: test)",
            margin, PanelSize - 10, 12, Rgb.Black);

        void DrawPoints(ToyDataSet data, Action<double, double, int> draw)
        {
            for (int i = 0; i < data.Count; i++)
            {
                double x = margin + (data.Points[2 * i] + ToyDataSet.Extent) / (2 * ToyDataSet.Extent) * side;
                double y = margin + (ToyDataSet.Extent - data.Points[2 * i + 1]) / (2 * ToyDataSet.Extent) * side;
                draw(x, y, data.Labels[i]);
            }
        }
    }

    /// <summary>Pale orange for p = 0 through white to pale blue for p = 1, so the points stay visible on top.</summary>
    private static Rgb Blend(double p)
    {
        static byte Mix(byte a, double t) => (byte)Math.Round(255 + (a - 255) * t * 0.55);
        double t = Math.Abs(2 * p - 1);
        var c = p >= 0.5 ? Class1 : Class0;
        return new Rgb(Mix(c.R, t), Mix(c.G, t), Mix(c.B, t));
    }

    private static LineChart LossChart(PlaygroundResult result)
    {
        double[] epochs = Enumerable.Range(1, result.TrainLoss.Length).Select(e => (double)e).ToArray();
        return new LineChart
        {
            Title = "Loss",
            XLabel = "epoch",
            LeftLabel = "cross-entropy loss",
            Series = [new Series("train loss", epochs, result.TrainLoss, LineChart.Palette[0]), new Series("test loss", epochs, result.TestLoss, LineChart.Palette[1])],
        };
    }
}
