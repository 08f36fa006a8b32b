using System.Buffers.Binary;

namespace CudaNn.Checkpoints;

/// <summary>
/// Reads safetensors files, treating every byte as hostile: whatever the content, the result is
/// either a validated <see cref="SafetensorsFile"/> or a <see cref="CheckpointFormatException"/>
/// naming the source and the problem. Nothing is allocated on the strength of a declared size
/// before that size has been checked against the real length, so a read never allocates much
/// more than the file's own size.
/// </summary>
public static class SafetensorsReader
{
    /// <summary>
    /// Reads the file at <paramref name="path"/>. A missing file throws
    /// <see cref="FileNotFoundException"/> and other I/O failures their own <see cref="IOException"/>;
    /// every problem with the content throws <see cref="CheckpointFormatException"/>.
    /// </summary>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(stream, path);
    }

    /// <summary>
    /// Reads a whole safetensors file from a seekable stream positioned at its start; the file
    /// is taken to end where the stream ends. <paramref name="sourceName"/> appears in error messages.
    /// </summary>
    public static SafetensorsFile Read(Stream stream, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (!stream.CanSeek || !stream.CanRead)
            throw new ArgumentException("the stream must be readable and seekable, so that declared sizes can be checked against its length", nameof(stream));
        long total = stream.Length - stream.Position;
        if (total < SafetensorsLimits.LengthPrefixSize)
            throw new CheckpointFormatException(sourceName, $"file has {total} bytes, fewer than the 8-byte header length");
        try
        {
            Span<byte> prefix = stackalloc byte[SafetensorsLimits.LengthPrefixSize];
            stream.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            long bufferLength = SafetensorsLimits.BufferLength(headerLength, total, sourceName);
            var json = new byte[headerLength];
            stream.ReadExactly(json);
            SafetensorsHeader header = SafetensorsHeaderParser.Parse(json, bufferLength, sourceName);
            IReadOnlyList<TensorHeaderInfo> tensors = header.Tensors;
            var data = new byte[tensors.Count][];
            // The ranges tile the buffer (checked above), so reading in offset order is one forward pass.
            foreach (int i in Enumerable.Range(0, tensors.Count).OrderBy(i => tensors[i].Begin).ThenBy(i => tensors[i].End))
            {
                if (tensors[i].ByteLength > Array.MaxLength)
                    throw new CheckpointFormatException(sourceName, $"tensor '{tensors[i].Name}' has {tensors[i].ByteLength} bytes; tensors over {Array.MaxLength} bytes are not supported");
                data[i] = new byte[tensors[i].ByteLength];
                stream.ReadExactly(data[i]);
            }
            return Build(header, data, sourceName);
        }
        catch (EndOfStreamException ex)
        {
            // Only possible if the stream shrank while being read; the sizes were checked first.
            throw new CheckpointFormatException(sourceName, "file ended early while being read", ex);
        }
    }

    /// <summary>Reads a safetensors file held in memory; <paramref name="sourceName"/> appears in error messages.</summary>
    public static SafetensorsFile Read(ReadOnlySpan<byte> bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        if (bytes.Length < SafetensorsLimits.LengthPrefixSize)
            throw new CheckpointFormatException(sourceName, $"file has {bytes.Length} bytes, fewer than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        long bufferLength = SafetensorsLimits.BufferLength(headerLength, bytes.Length, sourceName);
        int bufferStart = SafetensorsLimits.LengthPrefixSize + (int)headerLength;
        SafetensorsHeader header = SafetensorsHeaderParser.Parse(bytes[SafetensorsLimits.LengthPrefixSize..bufferStart], bufferLength, sourceName);
        ReadOnlySpan<byte> buffer = bytes[bufferStart..];
        var data = new byte[header.Tensors.Count][];
        for (int i = 0; i < data.Length; i++)
            data[i] = buffer[(int)header.Tensors[i].Begin..(int)header.Tensors[i].End].ToArray();
        return Build(header, data, sourceName);
    }

    private static SafetensorsFile Build(SafetensorsHeader header, byte[][] data, string sourceName)
    {
        var entries = new List<SafetensorsEntry>(data.Length);
        for (int i = 0; i < data.Length; i++)
        {
            TensorHeaderInfo t = header.Tensors[i];
            entries.Add(new SafetensorsEntry(t.Name, t.Dtype, t.Shape, data[i]));
        }
        return new SafetensorsFile(sourceName, entries, header.Metadata);
    }
}
