using CudaNn.IO;
using SkiaSharp;

namespace CudaNn.Cli.Plots;

/// <summary>Draws on an off-screen canvas and writes it as a PNG: to a temporary file first, then renamed, like checkpoints.</summary>
internal static class PngFile
{
    public static void Save(string path, int width, int height, Action<SKCanvas> draw)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"could not create a {width}x{height} drawing surface");
        surface.Canvas.Clear(SKColors.White);
        draw(surface.Canvas);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.Write(path, png.SaveTo);
    }
}
