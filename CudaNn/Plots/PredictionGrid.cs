namespace CudaNn.Cli.Plots;

/// <summary>
/// `predict --grid`: test digits in rows, each scaled up and captioned "true → predicted (probability)", as a line
/// across the top says; a wrong prediction gets a red frame and a red caption so the mistakes stand out at a glance.
/// </summary>
internal static class PredictionGrid
{
    public const int Scale = 3, Caption = 20, Padding = 6, Header = 22;

    /// <summary>One digit to draw: its pixels (row-major bytes), the true label and the predicted one with its probability.</summary>
    public sealed record Cell(byte[] Pixels, int Rows, int Cols, int TrueLabel, int Predicted, double Probability);

    public static (int Width, int Height) Size(int count, int rows, int cols)
    {
        int perRow = (int)Math.Ceiling(Math.Sqrt(count));
        int lines = (count + perRow - 1) / perRow;
        return (perRow * CellWidth(cols) + Padding, Header + lines * CellHeight(rows) + Padding);
    }

    public static void Save(string path, IReadOnlyList<Cell> cells)
    {
        if (cells.Count == 0) throw new ArgumentException("no images to draw");
        int rows = cells[0].Rows, cols = cells[0].Cols;
        var (width, height) = Size(cells.Count, rows, cols);
        int perRow = (int)Math.Ceiling(Math.Sqrt(cells.Count));
        PngFile.Save(path, width, height, canvas =>
        {
            var right = new Rgb(20, 110, 40);
            canvas.DrawText("caption: true label → predicted (probability)", Padding, Header - 6, 13, new Rgb(60, 60, 60));
            for (int i = 0; i < cells.Count; i++)
            {
                var c = cells[i];
                int left = Padding + i % perRow * CellWidth(cols), top = Header + Padding + i / perRow * CellHeight(rows);
                for (int r = 0; r < rows; r++)
                    for (int k = 0; k < cols; k++)
                    {
                        byte ink = (byte)(255 - c.Pixels[r * cols + k]);
                        canvas.FillRect(left + k * Scale, top + r * Scale, Scale, Scale, new Rgb(ink, ink, ink));
                    }
                bool ok = c.TrueLabel == c.Predicted;
                if (!ok) canvas.StrokeRect(left - 1, top - 1, cols * Scale + 2, rows * Scale + 2, 3, Rgb.Red);
                string caption = $"{c.TrueLabel} → {c.Predicted} ({100 * c.Probability:F0}%)";
                canvas.DrawText(caption, left, top + rows * Scale + Caption - 4, 13, ok ? right : Rgb.Red);
            }
        });
    }

    private static int CellWidth(int cols) => cols * Scale + Padding + 12;

    private static int CellHeight(int rows) => rows * Scale + Caption + Padding;
}
