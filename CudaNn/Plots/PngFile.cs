using System.Buffers.Binary;
using System.IO.Compression;
using CudaNn.IO;

namespace CudaNn.Cli.Plots;

/// <summary>
/// Writes a <see cref="Canvas"/> as a PNG (8-bit RGB, every row unfiltered, deflated by .NET's zlib): to a temporary
/// file first, then renamed, like checkpoints.
/// </summary>
internal static class PngFile
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Draws a white <paramref name="width"/> by <paramref name="height"/> canvas with <paramref name="draw"/> and writes it to <paramref name="path"/>.</summary>
    public static void Save(string path, int width, int height, Action<Canvas> draw)
    {
        var canvas = new Canvas(width, height);
        draw(canvas);
        byte[] png = Encode(canvas);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    /// <summary>The canvas as the bytes of a PNG file.</summary>
    public static byte[] Encode(Canvas canvas)
    {
        using var file = new MemoryStream();
        file.Write(Signature);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, canvas.Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), canvas.Height);
        header[8] = 8; // bits per sample
        header[9] = 2; // RGB; compression, filter and interlace methods stay 0
        Chunk(file, "IHDR", header);
        using (var data = new MemoryStream())
        {
            using (var zlib = new ZLibStream(data, CompressionLevel.Optimal, leaveOpen: true))
            {
                int stride = canvas.Width * 3;
                for (int y = 0; y < canvas.Height; y++)
                {
                    zlib.WriteByte(0); // filter type None
                    zlib.Write(canvas.Pixels.Slice(y * stride, stride));
                }
            }
            Chunk(file, "IDAT", data.ToArray());
        }
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    private static void Chunk(Stream file, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        file.Write(word);
        Span<byte> tag = [(byte)type[0], (byte)type[1], (byte)type[2], (byte)type[3]];
        file.Write(tag);
        file.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFF, tag), data) ^ 0xFFFFFFFF;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        file.Write(word);
    }

    /// <summary>The CRC-32 every PNG chunk ends with (ISO 3309's polynomial, reflected), computed a byte at a time from a table.</summary>
    internal static class Crc32
    {
        private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
        {
            uint c = (uint)n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            return c;
        }).ToArray();

        public static uint Update(uint crc, ReadOnlySpan<byte> bytes)
        {
            foreach (byte b in bytes) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }
}
