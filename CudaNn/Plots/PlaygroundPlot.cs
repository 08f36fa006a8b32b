using CudaNn.Cli.Playground;
using ScottPlot;
using SkiaSharp;

namespace CudaNn.Cli.Plots;

/// <summary>
/// `playground`'s picture: on the left the plane coloured by the model's class-1 probability (orange for class 0,
/// blue for class 1, as in the TensorFlow playground) with the training points filled and the test points ringed;
/// on the right the training and test loss per epoch.
/// </summary>
internal static class PlaygroundPlot
{
    public const int PanelSize = 500, Width = 2 * PanelSize, Height = PanelSize;

    private static readonly SKColor Class0 = new(245, 147, 34), Class1 = new(8, 119, 189);

    public static void Save(string path, PlaygroundResult result, string title)
    {
        PngFile.Save(path, Width, Height, canvas =>
        {
            // ScottPlot clears the whole canvas it renders on, so the loss panel is drawn on its own surface.
            using (var panel = SKSurface.Create(new SKImageInfo(PanelSize, PanelSize)))
            {
                LossPlot(result).Render(panel.Canvas, PanelSize, PanelSize);
                using var image = panel.Snapshot();
                canvas.DrawImage(image, PanelSize, 0);
            }
            DrawBoundary(canvas, result, title);
        });
    }

    private static void DrawBoundary(SKCanvas canvas, PlaygroundResult result, string title)
    {
        const int margin = 30;
        const float side = PanelSize - 2 * margin;
        int n = result.Boundary.GetLength(0);
        float cell = side / n;
        using var fill = new SKPaint { IsAntialias = false };
        for (int row = 0; row < n; row++)
            for (int col = 0; col < n; col++)
            {
                fill.Color = Blend(result.Boundary[row, col]);
                canvas.DrawRect(margin + col * cell, margin + row * cell, cell + 1, cell + 1, fill);
            }
        using var dot = new SKPaint { IsAntialias = true };
        using var ring = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 2 };
        using var outline = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 1, Color = SKColors.White };
        DrawPoints(result.Train, (x, y, label) =>
        {
            dot.Color = label == 1 ? Class1 : Class0;
            canvas.DrawCircle(x, y, 4, dot);
            canvas.DrawCircle(x, y, 4, outline);
        });
        DrawPoints(result.Test, (x, y, label) =>
        {
            ring.Color = label == 1 ? Class1 : Class0;
            canvas.DrawCircle(x, y, 4, ring);
        });
        using var frame = new SKPaint { Style = SKPaintStyle.Stroke, Color = SKColors.Gray, StrokeWidth = 1 };
        canvas.DrawRect(margin, margin, side, side, frame);
        using var font = new SKFont(SKTypeface.Default, 15);
        using var text = new SKPaint { IsAntialias = true, Color = SKColors.Black };
        canvas.DrawText(title, margin, margin - 10, SKTextAlign.Left, font, text);
        canvas.DrawText($"train accuracy {100 * result.TrainAccuracy:F1}%   test accuracy {100 * result.TestAccuracy:F1}%   (filled: train, ringed: test)",
            margin, PanelSize - 10, SKTextAlign.Left, new SKFont(SKTypeface.Default, 12), text);

        void DrawPoints(ToyDataSet data, Action<float, float, int> draw)
        {
            for (int i = 0; i < data.Count; i++)
            {
                float x = margin + (float)((data.Points[2 * i] + ToyDataSet.Extent) / (2 * ToyDataSet.Extent)) * side;
                float y = margin + (float)((ToyDataSet.Extent - data.Points[2 * i + 1]) / (2 * ToyDataSet.Extent)) * side;
                draw(x, y, data.Labels[i]);
            }
        }
    }

    /// <summary>Pale orange for p = 0 through white to pale blue for p = 1, so the points stay visible on top.</summary>
    private static SKColor Blend(double p)
    {
        static byte Mix(byte a, double t) => (byte)Math.Round(255 + (a - 255) * t * 0.55);
        double t = Math.Abs(2 * p - 1);
        var c = p >= 0.5 ? Class1 : Class0;
        return new SKColor(Mix(c.Red, t), Mix(c.Green, t), Mix(c.Blue, t));
    }

    private static Plot LossPlot(PlaygroundResult result)
    {
        double[] epochs = Enumerable.Range(1, result.TrainLoss.Length).Select(e => (double)e).ToArray();
        var plot = new Plot();
        var train = plot.Add.Scatter(epochs, result.TrainLoss);
        train.LegendText = "train loss";
        train.MarkerSize = 0;
        var test = plot.Add.Scatter(epochs, result.TestLoss);
        test.LegendText = "test loss";
        test.MarkerSize = 0;
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Axes.Left.Label.Text = "cross-entropy loss";
        plot.Title("Loss");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }
}
