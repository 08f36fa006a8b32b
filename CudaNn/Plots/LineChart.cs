using System.Globalization;

namespace CudaNn.Cli.Plots;

/// <summary>One line of a chart: its name in the legend, its points, and the axis its values are read on.</summary>
internal sealed record Series(string Name, double[] X, double[] Y, Rgb Colour, double LineWidth = 1.5, bool RightAxis = false);

/// <summary>Where a chart's legend sits inside its plotting area.</summary>
internal enum LegendPlace
{
    UpperRight,
    MiddleRight,
}

/// <summary>
/// Line charts per epoch, as the training and playground pictures draw them: a title, a frame with round-numbered ticks
/// and light grid lines, a left axis and optionally a right one (each named above its side), lines of any width, and a
/// legend naming each line and its axis.
/// </summary>
internal sealed class LineChart
{
    /// <summary>The colours of the first lines (the common Category10 palette: blue, orange, green, red).</summary>
    public static readonly Rgb[] Palette = [new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40)];

    private static readonly Rgb Ink = new(40, 40, 40), Frame = new(150, 150, 150), Grid = new(232, 232, 232);

    public required string Title { get; init; }
    public required string XLabel { get; init; }
    public required string LeftLabel { get; init; }
    public string? RightLabel { get; init; }
    public required IReadOnlyList<Series> Series { get; init; }
    public LegendPlace Legend { get; init; } = LegendPlace.UpperRight;

    /// <summary>Ticks on the x axis only at whole numbers (epochs).</summary>
    public bool WholeX { get; init; } = true;

    /// <summary>Draws the chart into the box at (<paramref name="left"/>, <paramref name="top"/>) of the canvas.</summary>
    public void Draw(Canvas canvas, double left, double top, double width, double height)
    {
        bool right = Series.Any(s => s.RightAxis);
        double plotLeft = left + 62, plotRight = left + width - (right ? 62 : 22), plotTop = top + 58, plotBottom = top + height - 48;
        canvas.DrawText(Title, left + width / 2, top + 24, 16, Ink, TextAlign.Centre);

        var (xMin, xMax) = Range(Series.SelectMany(s => s.X), pad: false);
        var xTicks = Ticks(xMin, xMax, 8, WholeX);
        double X(double v) => plotLeft + (v - xMin) / (xMax - xMin) * (plotRight - plotLeft);
        var (leftMin, leftMax) = Range(Series.Where(s => !s.RightAxis).SelectMany(s => s.Y), pad: true);
        var (rightMin, rightMax) = right ? Range(Series.Where(s => s.RightAxis).SelectMany(s => s.Y), pad: true) : (0, 1);
        var leftTicks = Ticks(leftMin, leftMax, 6, whole: false);
        double Y(double v, bool onRight) => onRight
            ? plotBottom - (v - rightMin) / (rightMax - rightMin) * (plotBottom - plotTop)
            : plotBottom - (v - leftMin) / (leftMax - leftMin) * (plotBottom - plotTop);

        foreach (double t in leftTicks) canvas.FillRect(plotLeft, Math.Round(Y(t, false)), plotRight - plotLeft, 1, Grid);
        foreach (double t in xTicks) canvas.FillRect(Math.Round(X(t)), plotTop, 1, plotBottom - plotTop, Grid);
        canvas.StrokeRect(plotLeft, plotTop, plotRight - plotLeft, plotBottom - plotTop, 1, Frame);

        string leftFormat = Format(leftTicks), xFormat = Format(xTicks);
        foreach (double t in leftTicks) canvas.DrawText(t.ToString(leftFormat, CultureInfo.InvariantCulture), plotLeft - 6, Y(t, false) + 4, 11, Ink, TextAlign.Right);
        foreach (double t in xTicks) canvas.DrawText(t.ToString(xFormat, CultureInfo.InvariantCulture), X(t), plotBottom + 16, 11, Ink, TextAlign.Centre);
        canvas.DrawText(XLabel, (plotLeft + plotRight) / 2, plotBottom + 36, 12, Ink, TextAlign.Centre);
        canvas.DrawText(LeftLabel, plotLeft, plotTop - 10, 12, Ink);
        if (right)
        {
            var rightTicks = Ticks(rightMin, rightMax, 6, whole: false);
            string rightFormat = Format(rightTicks);
            foreach (double t in rightTicks) canvas.DrawText(t.ToString(rightFormat, CultureInfo.InvariantCulture), plotRight + 6, Y(t, true) + 4, 11, Ink);
            canvas.DrawText(RightLabel ?? "", plotRight, plotTop - 10, 12, Ink, TextAlign.Right);
        }

        foreach (var series in Series)
            canvas.DrawPolyline(series.X.Zip(series.Y, (x, y) => (X(x), Y(y, series.RightAxis))).ToList(), series.LineWidth, series.Colour);
        DrawLegend(canvas, plotRight, plotTop, plotBottom);
    }

    private void DrawLegend(Canvas canvas, double plotRight, double plotTop, double plotBottom)
    {
        const double line = 18, sample = 22, padding = 8;
        double textWidth = Series.Max(s => Canvas.MeasureText(s.Name, 11));
        double boxWidth = padding * 3 + sample + textWidth, boxHeight = padding * 2 + line * Series.Count - 4;
        double boxLeft = plotRight - boxWidth - 10;
        double boxTop = Legend == LegendPlace.UpperRight ? plotTop + 10 : (plotTop + plotBottom - boxHeight) / 2;
        canvas.FillRect(boxLeft, boxTop, boxWidth, boxHeight, Rgb.White);
        canvas.StrokeRect(boxLeft, boxTop, boxWidth, boxHeight, 1, Frame);
        for (int i = 0; i < Series.Count; i++)
        {
            double middle = boxTop + padding + 7 + i * line;
            canvas.DrawPolyline([(boxLeft + padding, middle), (boxLeft + padding + sample, middle)], Series[i].LineWidth, Series[i].Colour);
            canvas.DrawText(Series[i].Name, boxLeft + 2 * padding + sample, middle + 4, 11, Ink);
        }
    }

    /// <summary>The finite values' range; padded by a twentieth each side for lines, widened around a single value.</summary>
    private static (double Min, double Max) Range(IEnumerable<double> values, bool pad)
    {
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count == 0) return (0, 1);
        double min = finite.Min(), max = finite.Max();
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            double half = Math.Max(Math.Abs(max) * 0.1, pad ? 0.5 : 1);
            return (min - half, max + half);
        }
        double margin = pad ? (max - min) / 20 : 0;
        return (min - margin, max + margin);
    }

    /// <summary>
    /// Round values from <paramref name="min"/> to <paramref name="max"/>, about <paramref name="target"/> of them: steps
    /// of 1, 2, 2.5 or 5 times a power of ten (whole numbers only when <paramref name="whole"/>).
    /// </summary>
    internal static List<double> Ticks(double min, double max, int target, bool whole)
    {
        double raw = (max - min) / target;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * power).First(s => s >= raw * 0.999);
        if (whole) step = Math.Max(1, Math.Round(step == 2.5 * power ? 2 * power : step));
        var ticks = new List<double>();
        for (double t = Math.Ceiling(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return ticks;
    }

    /// <summary>A number format with as many decimals as the ticks' step needs.</summary>
    private static string Format(List<double> ticks)
    {
        if (ticks.Count < 2) return "G4";
        double step = ticks[1] - ticks[0];
        int decimals = 0;
        while (decimals < 6 && Math.Abs(step * Math.Pow(10, decimals) - Math.Round(step * Math.Pow(10, decimals))) > 1e-6 * step * Math.Pow(10, decimals)) decimals++;
        return "F" + decimals.ToString(CultureInfo.InvariantCulture);
    }
}
