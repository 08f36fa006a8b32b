using CudaNn.Cli.Plots;
using CudaNn.Tests.TestSupport;
using SkiaSharp;

namespace CudaNn.Tests.Cli.Plots;

/// <summary>
/// The tool's own picture code against independent references: its PNGs decoded by SkiaSharp, shapes against the
/// areas they cover, its text against SkiaSharp's rendering of the same font, and broken font files refused.
/// </summary>
public class DrawingTests
{
    [Test]
    public void APng_DecodesToExactlyThePixelsDrawn()
    {
        var random = Seeded.Random(61);
        var canvas = new Canvas(37, 23);
        var expected = new Rgb[37, 23];
        for (int y = 0; y < 23; y++)
            for (int x = 0; x < 37; x++)
            {
                expected[x, y] = new Rgb((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                canvas.FillRect(x, y, 1, 1, expected[x, y]);
            }
        using var bitmap = SKBitmap.Decode(PngFile.Encode(canvas));
        Assert.That(bitmap, Is.Not.Null, "SkiaSharp decodes it");
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((37, 23)));
        for (int y = 0; y < 23; y++)
            for (int x = 0; x < 37; x++)
            {
                var pixel = bitmap.GetPixel(x, y);
                Assert.That(new Rgb(pixel.Red, pixel.Green, pixel.Blue), Is.EqualTo(expected[x, y]), $"pixel ({x}, {y})");
            }
    }

    [Test]
    public void Shapes_CoverWhatTheirAreaCovers()
    {
        var canvas = new Canvas(40, 40);
        canvas.FillRect(1.5, 1, 2, 1, Rgb.Black);
        Assert.That(new[] { canvas[1, 1].R, canvas[2, 1].R, canvas[3, 1].R, canvas[4, 1].R }, Is.EqualTo(new byte[] { 128, 0, 128, 255 }),
            "half, all, half and none of four pixels");

        var disc = new Canvas(40, 40);
        disc.FillCircle(20, 20, 10, Rgb.Black);
        double ink = Ink(disc);
        // A disc of radius 10 covers 100π pixels; coverage sampled at pixel centres errs by a fraction of its rim.
        Assert.That(ink, Is.EqualTo(Math.PI * 100).Within(1).Percent);

        // Two segments meeting at a corner, in grey: a pixel both cover is painted once, never darker than the grey.
        var corner = new Canvas(40, 40);
        corner.DrawPolyline([(5, 5), (30, 20), (5, 35)], 4, new Rgb(128, 128, 128));
        int darkest = Enumerable.Range(0, 40 * 40).Min(i => corner[i % 40, i / 40].R);
        Assert.That(darkest, Is.EqualTo(128));
        // Two segments of lengths √850 ≈ 29.2 and √850 plus round ends, 4 wide, less the overlap at the corner.
        Assert.That(Ink(corner) / (128 / 255.0), Is.EqualTo(4 * 2 * Math.Sqrt(850) + Math.PI * 4).Within(8).Percent);
    }

    [Test]
    public void Text_MatchesSkiaSharpsFillOfTheSameOutlines()
    {
        var font = Requirements.Font();
        TestContext.Out.WriteLine($"font: {font.Source}");
        const string text = "Epoch 12: loss → 0.25 (é)";
        const double size = 24;
        var canvas = new Canvas(420, 40);
        canvas.DrawText(text, 10, 30, size, Rgb.Black);

        using var typeface = SKTypeface.FromFile(font.Source);
        using var skFont = new SKFont(typeface, (float)size) { Hinting = SKFontHinting.None, Subpixel = true, Edging = SKFontEdging.Antialias };
        // The glyphs' outlines filled as a path: plain geometric coverage, as ours is (Skia's text drawing adds its own
        // gamma and contrast to glyph masks).
        using var bitmap = new SKBitmap(420, 40);
        using (var skCanvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true })
        using (var outlines = skFont.GetTextPath(text, new SKPoint(10, 30)))
        {
            skCanvas.Clear(SKColors.White);
            skCanvas.DrawPath(outlines, paint);
        }
        double ours = Ink(canvas), skia = 0;
        for (int y = 0; y < 40; y++)
            for (int x = 0; x < 420; x++) skia += (255 - bitmap.GetPixel(x, y).Red) / 255.0;
        TestContext.Out.WriteLine($"ink: ours {ours:F1}, SkiaSharp's {skia:F1}");
        // The same outlines filled: the ink agrees to a few percent (ours puts each glyph on a whole pixel, and
        // flattens its curves into six segments each).
        Assert.That(ours, Is.EqualTo(skia).Within(3).Percent);
        Assert.That(Canvas.MeasureText(text, size), Is.EqualTo(skFont.MeasureText(text)).Within(0.5), "the advance widths");
        Assert.That(font.GlyphIndex('→'), Is.Not.Zero, "the arrow the grid's captions use");
    }

    [Test]
    public void ABrokenFontFile_IsRefusedNamingIt()
    {
        using var dir = new TempDirectory();
        string junk = dir.Write("junk.ttf", new byte[200]);
        Assert.That(Assert.Throws<FormatException>(() => TrueTypeFont.Load(junk))!.Message, Does.Contain("junk.ttf: not a TrueType font"));
        string cff = dir.Write("cff.otf", [.. "OTTO"u8, .. new byte[60]]);
        Assert.That(Assert.Throws<FormatException>(() => TrueTypeFont.Load(cff))!.Message, Does.Contain("with glyph outlines (tag 'OTTO')"));
        if (TrueTypeFont.System is { } font)
        {
            string cut = dir.Write("cut.ttf", File.ReadAllBytes(font.Source)[..2000]);
            Assert.That(Assert.Throws<FormatException>(() => TrueTypeFont.Load(cut))!.Message, Does.Contain("cut.ttf"));
        }
    }

    [Test]
    public void ADamagedFont_IsRefusedOrDrawsWhatItCan_NeverCrashingOrHanging()
    {
        var font = Requirements.Font();
        byte[] original = File.ReadAllBytes(font.Source);
        var random = Seeded.Random(62);
        using var dir = new TempDirectory();
        int refused = 0;
        for (int trial = 0; trial < 40; trial++)
        {
            byte[] damaged = (byte[])original.Clone();
            // A few bytes anywhere, then some in the first 4 KiB, where the tables' directory and the small tables are.
            for (int i = 0; i < 16; i++) damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
            for (int i = 0; i < 8; i++) damaged[random.Next(4096)] = (byte)random.Next(256);
            string path = dir.Write($"damaged-{trial}.ttf", damaged);
            TrueTypeFont loaded;
            try
            {
                loaded = TrueTypeFont.Load(path);
            }
            catch (FormatException)
            {
                refused++;
                continue;
            }
            foreach (var rune in "Epoch 12: loss → 0.25 (é)".EnumerateRunes())
            {
                int glyph = loaded.GlyphIndex(rune.Value);
                Assert.That(loaded.Advance(glyph, 15), Is.GreaterThanOrEqualTo(0));
                var mask = loaded.Mask(glyph, 15);
                Assert.That(mask.Coverage, Has.Length.EqualTo(mask.Width * mask.Height));
            }
        }
        TestContext.Out.WriteLine($"{refused} of 40 damaged copies refused on loading; the rest drew without an exception");
    }

    [TestCase(0.31, 2.1, 6, false, new[] { 0.5, 1, 1.5, 2 })]
    [TestCase(1, 3, 8, true, new double[] { 1, 2, 3 })]
    [TestCase(1, 100, 8, true, new double[] { 20, 40, 60, 80, 100 })]
    [TestCase(-0.02, 0.67, 6, false, new[] { 0, 0.2, 0.4, 0.6 })]
    public void Ticks_AreRoundNumbersAcrossTheRange(double min, double max, int target, bool whole, double[] expected) =>
        Assert.That(LineChart.Ticks(min, max, target, whole), Is.EqualTo(expected).Within(1e-12));

    /// <summary>How many pixels' worth of black (or grey, in its share) the canvas holds, from the red channel.</summary>
    private static double Ink(Canvas canvas)
    {
        double ink = 0;
        for (int y = 0; y < canvas.Height; y++)
            for (int x = 0; x < canvas.Width; x++) ink += (255 - canvas[x, y].R) / 255.0;
        return ink;
    }
}
