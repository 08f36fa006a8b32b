using SkiaSharp;

namespace CudaNn.Tests.Cli.Plots;

/// <summary>Opens a PNG and checks that it is a real picture: the expected size and many distinct colours, not a blank canvas.</summary>
internal static class PngAssert
{
    public static void IsPicture(string path, int width, int height, int minColours = 8)
    {
        Assert.That(File.Exists(path), $"{path} was not written");
        byte[] bytes = File.ReadAllBytes(path);
        Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.That(bitmap, Is.Not.Null, "the PNG decodes");
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((width, height)));
        var colours = new HashSet<uint>();
        for (int y = 0; y < bitmap.Height; y += 2)
            for (int x = 0; x < bitmap.Width; x += 2)
                colours.Add((uint)bitmap.GetPixel(x, y));
        TestContext.Out.WriteLine($"{path}: {bitmap.Width}x{bitmap.Height}, {colours.Count} distinct colours");
        Assert.That(colours, Has.Count.GreaterThanOrEqualTo(minColours), "not blank");
    }
}
