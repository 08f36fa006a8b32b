namespace CudaNn.Cli.Plots;

/// <summary>A colour as the PNG stores it: 8 bits each of red, green and blue.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb White = new(255, 255, 255), Black = new(0, 0, 0), Grey = new(128, 128, 128), Red = new(220, 20, 20);
}

/// <summary>Where text sits on the point it is drawn at.</summary>
internal enum TextAlign
{
    Left,
    Centre,
    Right,
}

/// <summary>
/// A white picture in memory and the few shapes the plots draw on it: rectangles, circles, rings, lines of any width
/// and text, each anti-aliased by the share of a pixel it covers. <see cref="PngFile"/> writes it.
/// </summary>
internal sealed class Canvas
{
    private readonly byte[] _pixels;

    public Canvas(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        (Width, Height) = (width, height);
        _pixels = new byte[checked(width * height * 3)];
        _pixels.AsSpan().Fill(255);
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>The pixels, row by row from the top, three bytes (red, green, blue) each.</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    public Rgb this[int x, int y]
    {
        get
        {
            int at = (y * Width + x) * 3;
            return new Rgb(_pixels[at], _pixels[at + 1], _pixels[at + 2]);
        }
    }

    /// <summary>Paints <paramref name="colour"/> over pixel (x, y) with the given share of it covered (0 to 1); pixels off the canvas are skipped.</summary>
    private void Blend(int x, int y, Rgb colour, double coverage)
    {
        if (x < 0 || y < 0 || x >= Width || y >= Height || coverage <= 0) return;
        int at = (y * Width + x) * 3;
        if (coverage >= 1)
        {
            (_pixels[at], _pixels[at + 1], _pixels[at + 2]) = (colour.R, colour.G, colour.B);
            return;
        }
        _pixels[at] = Mix(_pixels[at], colour.R, coverage);
        _pixels[at + 1] = Mix(_pixels[at + 1], colour.G, coverage);
        _pixels[at + 2] = Mix(_pixels[at + 2], colour.B, coverage);
    }

    private static byte Mix(byte under, byte over, double coverage) => (byte)Math.Round(under + (over - under) * coverage);

    /// <summary>The rectangle from (x, y) spanning width by height; a pixel it covers in part is blended by that part.</summary>
    public void FillRect(double x, double y, double width, double height, Rgb colour)
    {
        if (!(width > 0 && height > 0)) return;
        int x0 = Math.Max(0, (int)Math.Floor(x)), x1 = Math.Min(Width, (int)Math.Ceiling(x + width));
        int y0 = Math.Max(0, (int)Math.Floor(y)), y1 = Math.Min(Height, (int)Math.Ceiling(y + height));
        for (int py = y0; py < y1; py++)
        {
            double cy = Math.Min(py + 1, y + height) - Math.Max(py, y);
            for (int px = x0; px < x1; px++) Blend(px, py, colour, cy * (Math.Min(px + 1, x + width) - Math.Max(px, x)));
        }
    }

    /// <summary>A rectangle's outline, <paramref name="lineWidth"/> wide, centred on its edges.</summary>
    public void StrokeRect(double x, double y, double width, double height, double lineWidth, Rgb colour)
    {
        double h = lineWidth / 2;
        FillRect(x - h, y - h, width + lineWidth, lineWidth, colour);
        FillRect(x - h, y + height - h, width + lineWidth, lineWidth, colour);
        FillRect(x - h, y + h, lineWidth, height - lineWidth, colour);
        FillRect(x + width - h, y + h, lineWidth, height - lineWidth, colour);
    }

    /// <summary>A disc of radius <paramref name="radius"/>.</summary>
    public void FillCircle(double cx, double cy, double radius, Rgb colour) =>
        Shade(cx - radius, cy - radius, cx + radius, cy + radius, colour, (x, y) => radius + 0.5 - Distance(x - cx, y - cy));

    /// <summary>A ring of radius <paramref name="radius"/> (its middle), <paramref name="lineWidth"/> wide.</summary>
    public void StrokeCircle(double cx, double cy, double radius, double lineWidth, Rgb colour)
    {
        double reach = radius + lineWidth / 2;
        Shade(cx - reach, cy - reach, cx + reach, cy + reach, colour, (x, y) => lineWidth / 2 + 0.5 - Math.Abs(Distance(x - cx, y - cy) - radius));
    }

    /// <summary>
    /// Segments joining the points in turn, <paramref name="lineWidth"/> wide with round ends and joins; each pixel takes
    /// the largest coverage of any segment, so joins are not painted twice. A segment touching a NaN is left out.
    /// </summary>
    public void DrawPolyline(IReadOnlyList<(double X, double Y)> points, double lineWidth, Rgb colour)
    {
        var finite = points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        if (finite.Count == 0) return;
        double reach = lineWidth / 2 + 1;
        int x0 = Math.Max(0, (int)Math.Floor(finite.Min(p => p.X) - reach)), x1 = Math.Min(Width, (int)Math.Ceiling(finite.Max(p => p.X) + reach));
        int y0 = Math.Max(0, (int)Math.Floor(finite.Min(p => p.Y) - reach)), y1 = Math.Min(Height, (int)Math.Ceiling(finite.Max(p => p.Y) + reach));
        if (x1 <= x0 || y1 <= y0) return;
        var coverage = new double[(x1 - x0) * (y1 - y0)];
        for (int i = 0; i < points.Count; i++)
        {
            var (a, b) = (points[i], points[Math.Min(i + 1, points.Count - 1)]);
            if (!double.IsFinite(a.X + a.Y + b.X + b.Y)) continue;
            int sx0 = Math.Max(x0, (int)Math.Floor(Math.Min(a.X, b.X) - reach)), sx1 = Math.Min(x1, (int)Math.Ceiling(Math.Max(a.X, b.X) + reach));
            int sy0 = Math.Max(y0, (int)Math.Floor(Math.Min(a.Y, b.Y) - reach)), sy1 = Math.Min(y1, (int)Math.Ceiling(Math.Max(a.Y, b.Y) + reach));
            for (int py = sy0; py < sy1; py++)
                for (int px = sx0; px < sx1; px++)
                {
                    double c = lineWidth / 2 + 0.5 - SegmentDistance(px + 0.5, py + 0.5, a, b);
                    ref double cell = ref coverage[(py - y0) * (x1 - x0) + px - x0];
                    cell = Math.Max(cell, Math.Clamp(c, 0, 1));
                }
        }
        for (int py = y0; py < y1; py++)
            for (int px = x0; px < x1; px++) Blend(px, py, colour, coverage[(py - y0) * (x1 - x0) + px - x0]);
    }

    /// <summary>
    /// <paramref name="text"/> in the system's font at <paramref name="size"/> pixels per em, its baseline at
    /// <paramref name="baseline"/> and <paramref name="x"/> its left end, middle or right end; nothing without a font.
    /// </summary>
    public void DrawText(string text, double x, double baseline, double size, Rgb colour, TextAlign align = TextAlign.Left)
    {
        if (TrueTypeFont.System is not { } font) return;
        double pen = align switch
        {
            TextAlign.Centre => x - MeasureText(text, size) / 2,
            TextAlign.Right => x - MeasureText(text, size),
            _ => x,
        };
        int line = (int)Math.Round(baseline);
        foreach (var rune in text.EnumerateRunes())
        {
            int glyph = font.GlyphIndex(rune.Value);
            var mask = font.Mask(glyph, size);
            int left = (int)Math.Round(pen) + mask.Left, top = line + mask.Top;
            for (int row = 0; row < mask.Height; row++)
                for (int col = 0; col < mask.Width; col++)
                    Blend(left + col, top + row, colour, mask.Coverage[row * mask.Width + col] / 255.0);
            pen += font.Advance(glyph, size);
        }
    }

    /// <summary>How wide <paramref name="text"/> is at <paramref name="size"/>; 0 without a font.</summary>
    public static double MeasureText(string text, double size)
    {
        if (TrueTypeFont.System is not { } font) return 0;
        double width = 0;
        foreach (var rune in text.EnumerateRunes()) width += font.Advance(font.GlyphIndex(rune.Value), size);
        return width;
    }

    /// <summary>Blends every pixel of the box by the coverage <paramref name="inside"/> gives its centre (clamped to 0 to 1).</summary>
    private void Shade(double left, double top, double right, double bottom, Rgb colour, Func<double, double, double> inside)
    {
        for (int py = Math.Max(0, (int)Math.Floor(top)); py < Math.Min(Height, (int)Math.Ceiling(bottom) + 1); py++)
            for (int px = Math.Max(0, (int)Math.Floor(left)); px < Math.Min(Width, (int)Math.Ceiling(right) + 1); px++)
                Blend(px, py, colour, Math.Clamp(inside(px + 0.5, py + 0.5), 0, 1));
    }

    private static double Distance(double dx, double dy) => Math.Sqrt(dx * dx + dy * dy);

    private static double SegmentDistance(double x, double y, (double X, double Y) a, (double X, double Y) b)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y, length = dx * dx + dy * dy;
        double t = length == 0 ? 0 : Math.Clamp(((x - a.X) * dx + (y - a.Y) * dy) / length, 0, 1);
        return Distance(x - (a.X + t * dx), y - (a.Y + t * dy));
    }
}
