using CudaNn.IO;

namespace CudaNn.Checkpoints;

/// <summary>
/// Writes safetensors files: an 8-byte little-endian header length, the JSON header padded
/// with spaces to a multiple of 8, then every tensor's bytes back to back in the order given.
/// </summary>
internal static class SafetensorsWriter
{
    /// <summary>
    /// A test hook: with this set to N, the process kills itself (as kill -9 or a power cut would) once N bytes of the
    /// temporary file are written and flushed; N at or past the file's length strikes after the flush, before the
    /// rename. Tests use it to prove that a crash at any byte leaves the previous file intact.
    /// </summary>
    internal const string KillAtByteVariable = "CUDANN_TEST_KILL_AT_CHECKPOINT_BYTE";

    /// <summary>
    /// Writes the tensors to <paramref name="path"/> atomically (<see cref="AtomicFile"/>): everything goes to a
    /// temporary file in the same directory, which is flushed to disk and then renamed over the target.
    /// If anything fails, the temporary file is removed and an existing file at the path is
    /// left exactly as it was. Duplicate or reserved names and invalid metadata throw
    /// <see cref="ArgumentException"/> before any file is created.
    /// </summary>
    public static void Write(string path, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        IReadOnlyList<SafetensorsEntry> list = Validated(tensors, metadata);
        byte[] header = SafetensorsHeaderWriter.Build(list, metadata);
        AtomicFile.Write(path, stream =>
        {
            if (long.TryParse(Environment.GetEnvironmentVariable(KillAtByteVariable), out long killAt))
                WriteThenDie(stream, header, list, killAt);
            WriteBody(stream, header, list);
        });
    }

    /// <summary>Writes the file's bytes to a stream (no atomicity: the caller owns the stream).</summary>
    public static void Write(Stream stream, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        IReadOnlyList<SafetensorsEntry> list = Validated(tensors, metadata);
        WriteBody(stream, SafetensorsHeaderWriter.Build(list, metadata), list);
    }

    /// <summary>The file's bytes in memory.</summary>
    public static byte[] ToBytes(IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var memory = new MemoryStream();
        Write(memory, tensors, metadata);
        return memory.ToArray();
    }

    private static void WriteBody(Stream stream, byte[] header, IReadOnlyList<SafetensorsEntry> tensors)
    {
        stream.Write(header);
        foreach (SafetensorsEntry tensor in tensors)
            stream.Write(tensor.Data.Span);
    }

    private static void WriteThenDie(FileStream stream, byte[] header, IReadOnlyList<SafetensorsEntry> tensors, long bytes)
    {
        using var all = new MemoryStream();
        WriteBody(all, header, tensors);
        stream.Write(all.GetBuffer(), 0, (int)Math.Min(bytes, all.Length));
        stream.Flush(flushToDisk: true);
        System.Diagnostics.Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    private static IReadOnlyList<SafetensorsEntry> Validated(IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (SafetensorsEntry? tensor in list)
        {
            if (tensor is null)
                throw new ArgumentException("the tensor list contains null", nameof(tensors));
            if (tensor.Name == "__metadata__")
                throw new ArgumentException("'__metadata__' is reserved by the format and cannot name a tensor", nameof(tensors));
            if (!names.Add(tensor.Name))
                throw new ArgumentException($"tensor name '{tensor.Name}' appears more than once", nameof(tensors));
            long? expected = SafetensorsEntry.ByteLength(tensor.Dtype, tensor.Shape.ToArray());
            if (expected != tensor.Data.Length)
                throw new ArgumentException($"tensor '{tensor.Name}': shape and dtype need {expected} bytes but the data has {tensor.Data.Length}", nameof(tensors));
        }
        if (metadata is not null)
        {
            foreach (KeyValuePair<string, string> pair in metadata)
            {
                if (pair.Value is null)
                    throw new ArgumentException($"metadata '{pair.Key}' has a null value; safetensors metadata values are strings", nameof(metadata));
            }
        }
        return list;
    }
}
