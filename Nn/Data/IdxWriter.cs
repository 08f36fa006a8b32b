using System.Buffers.Binary;
using System.IO.Compression;
using CudaNn.IO;

namespace CudaNn.Data;

/// <summary>
/// Writes unsigned-byte IDX files (the MNIST format), raw or gzip-compressed, the inverse of
/// <see cref="IdxReader"/>.
/// </summary>
internal static class IdxWriter
{
    /// <summary>
    /// Writes <paramref name="data"/> with the given dimensions to <paramref name="path"/>,
    /// gzip-compressed when the path ends in ".gz". The file is written under a temporary name
    /// and then renamed, so readers never see a half-written file.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<int> dimensions, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = Encode(dimensions, data);
        AtomicFile.Write(path, file =>
        {
            if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                using var gzip = new GZipStream(file, CompressionLevel.SmallestSize, leaveOpen: true);
                gzip.Write(bytes);
            }
            else
            {
                file.Write(bytes);
            }
        });
    }

    /// <summary>
    /// The uncompressed IDX bytes: 00 00 08 rank, each dimension as a big-endian int32, then the data.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<int> dimensions, ReadOnlySpan<byte> data)
    {
        if (dimensions.Length is 0 or > IdxReader.MaxDimensions)
            throw new ArgumentException($"An IDX file has 1 to {IdxReader.MaxDimensions} dimensions, got {dimensions.Length}.", nameof(dimensions));
        long count = 1;
        foreach (int d in dimensions)
        {
            if (d <= 0)
                throw new ArgumentException($"Every IDX dimension must be positive, got [{string.Join(", ", dimensions.ToArray())}].", nameof(dimensions));
            count *= d;
            if (count > Array.MaxLength)
                throw new ArgumentException($"Dimensions [{string.Join(", ", dimensions.ToArray())}] exceed one array.", nameof(dimensions));
        }
        if (count != data.Length)
            throw new ArgumentException($"Dimensions [{string.Join(", ", dimensions.ToArray())}] need {count} bytes, data has {data.Length}.", nameof(data));

        int header = 4 + 4 * dimensions.Length;
        var bytes = new byte[header + data.Length];
        bytes[2] = IdxReader.UnsignedByteType;
        bytes[3] = (byte)dimensions.Length;
        for (int i = 0; i < dimensions.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        data.CopyTo(bytes.AsSpan(header));
        return bytes;
    }
}
