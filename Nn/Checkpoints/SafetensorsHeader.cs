namespace CudaNn.Checkpoints;

/// <summary>One tensor as the header describes it; offsets are relative to the start of the byte buffer.</summary>
internal sealed record TensorHeaderInfo(string Name, SafeTensorDtype Dtype, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>A parsed and validated header: tensors in header order, and the "__metadata__" map.</summary>
internal sealed record SafetensorsHeader(IReadOnlyList<TensorHeaderInfo> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>The limits the format puts on the 8-byte length prefix.</summary>
internal static class SafetensorsLimits
{
    /// <summary>Size of the little-endian u64 header length at the start of every file.</summary>
    public const int LengthPrefixSize = 8;

    /// <summary>
    /// The largest header accepted, as in the reference implementation (100,000,000 bytes):
    /// real headers are kilobytes, and the cap bounds what a hostile length can make us allocate.
    /// </summary>
    public const long MaxHeaderSize = 100_000_000;

    /// <summary>
    /// Checks the declared header length against the cap and the total size, and returns the
    /// length of the byte buffer that follows the header.
    /// </summary>
    public static long BufferLength(ulong headerLength, long totalLength, string source)
    {
        if (headerLength > MaxHeaderSize)
            throw new CheckpointFormatException(source, $"header length {headerLength} exceeds the {MaxHeaderSize}-byte limit");
        long available = totalLength - LengthPrefixSize;
        if ((long)headerLength > available)
            throw new CheckpointFormatException(source, $"header length {headerLength} is larger than the {available} bytes after the length prefix (file truncated?)");
        return available - (long)headerLength;
    }
}
