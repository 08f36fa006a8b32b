namespace CudaNn.Checkpoints;

/// <summary>
/// The rules tying the header to the byte buffer: each tensor's range is [begin, end) with
/// begin &lt;= end &lt;= buffer length and end - begin == ElementSize(dtype) * product(shape);
/// sorted by offset, the ranges tile the buffer exactly, with no hole, overlap or trailing byte.
/// </summary>
internal static class SafetensorsLayout
{
    /// <summary>Checks one tensor's offsets and byte length; the buffer bound is checked in <see cref="Validate"/>.</summary>
    public static TensorHeaderInfo Describe(string name, SafeTensorDtype dtype, long[] shape, ulong begin, ulong end, string source)
    {
        string where = $"tensor '{name}'";
        if (begin > end)
            throw new CheckpointFormatException(source, $"{where}: data_offsets [{begin}, {end}] end before they begin");
        if (end > long.MaxValue)
            throw new CheckpointFormatException(source, $"{where}: data_offsets [{begin}, {end}] lie beyond any possible file");
        long? expected = SafeTensorEntry.ByteLength(dtype, shape);
        long actual = (long)(end - begin);
        if (expected is null)
            throw new CheckpointFormatException(source, $"{where}: {dtype.HeaderName()} shape [{string.Join(", ", shape)}] overflows a 64-bit byte count");
        if (expected.Value != actual)
        {
            throw new CheckpointFormatException(source,
                $"{where}: {dtype.HeaderName()} shape [{string.Join(", ", shape)}] needs {expected.Value} bytes but data_offsets [{begin}, {end}] hold {actual}");
        }
        return new TensorHeaderInfo(name, dtype, shape, (long)begin, (long)end);
    }

    /// <summary>Checks that the tensors' ranges cover [0, bufferLength) exactly once.</summary>
    public static void Validate(IReadOnlyList<TensorHeaderInfo> tensors, long bufferLength, string source)
    {
        foreach (TensorHeaderInfo t in tensors)
        {
            if (t.End > bufferLength)
                throw new CheckpointFormatException(source, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] run past the {bufferLength}-byte data buffer");
        }
        TensorHeaderInfo[] byOffset = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToArray();
        long covered = 0;
        TensorHeaderInfo? previous = null;
        foreach (TensorHeaderInfo t in byOffset)
        {
            if (t.Begin > covered)
            {
                string after = previous is null ? "the start of the buffer" : $"tensor '{previous.Name}'";
                throw new CheckpointFormatException(source, $"tensor '{t.Name}': bytes [{covered}, {t.Begin}) between {after} and it belong to no tensor");
            }
            if (t.Begin < covered)
                throw new CheckpointFormatException(source, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] overlap tensor '{previous!.Name}' ending at {covered}");
            covered = t.End;
            previous = t;
        }
        if (covered != bufferLength)
            throw new CheckpointFormatException(source, $"data buffer has {bufferLength} bytes but the tensors cover only the first {covered}");
    }
}
