using System.Buffers.Binary;

namespace CudaNn.Checkpoints;

/// <summary>
/// One named tensor of a safetensors file: dtype, shape (row-major, outermost first, as in
/// PyTorch) and the raw little-endian bytes. The bytes are held, not copied: an entry made
/// from a caller's memory sees later changes to it.
/// </summary>
public sealed class SafetensorsEntry
{
    private readonly long[] _shape;

    /// <summary>
    /// Creates an entry over raw bytes. Checks that the name is not empty and that
    /// data.Length == ElementSize(dtype) * product(shape) (the product of an empty shape is 1).
    /// </summary>
    public SafetensorsEntry(string name, SafetensorsDtype dtype, IEnumerable<long> shape, ReadOnlyMemory<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        _shape = shape.ToArray();
        foreach (long dim in _shape)
        {
            if (dim < 0)
                throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", _shape)}] has a negative dimension", nameof(shape));
        }
        long? bytes = ByteLength(dtype, _shape);
        if (bytes != data.Length)
        {
            throw new ArgumentException(
                $"tensor '{name}': {dtype.HeaderName()} shape [{string.Join(", ", _shape)}] needs " +
                $"{(bytes is null ? "more than 2^63" : bytes.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes but the data has {data.Length}",
                nameof(data));
        }
        Name = name;
        Dtype = dtype;
        Data = data;
    }

    /// <summary>The tensor's name, e.g. "fc1.weight".</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public SafetensorsDtype Dtype { get; }

    /// <summary>The dimensions, outermost first; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape => _shape;

    /// <summary>The raw little-endian element bytes, length ElementSize(Dtype) * ElementCount.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The number of elements: the product of the shape (1 for a scalar).</summary>
    public long ElementCount => Data.Length / Dtype.ElementSize();

    /// <summary>A float32 tensor, bytes copied from the values.</summary>
    public static SafetensorsEntry FromFloats(string name, IEnumerable<long> shape, ReadOnlySpan<float> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(float))];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        return new SafetensorsEntry(name, SafetensorsDtype.F32, shape, bytes);
    }

    /// <summary>A float64 tensor, bytes copied from the values.</summary>
    public static SafetensorsEntry FromDoubles(string name, IEnumerable<long> shape, ReadOnlySpan<double> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(double))];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), values[i]);
        return new SafetensorsEntry(name, SafetensorsDtype.F64, shape, bytes);
    }

    /// <summary>An int64 tensor (e.g. an optimizer step counter or RNG state), bytes copied.</summary>
    public static SafetensorsEntry FromInt64s(string name, IEnumerable<long> shape, ReadOnlySpan<long> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(long))];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), values[i]);
        return new SafetensorsEntry(name, SafetensorsDtype.I64, shape, bytes);
    }

    /// <summary>An int32 tensor, bytes copied.</summary>
    public static SafetensorsEntry FromInt32s(string name, IEnumerable<long> shape, ReadOnlySpan<int> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(int))];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), values[i]);
        return new SafetensorsEntry(name, SafetensorsDtype.I32, shape, bytes);
    }

    /// <summary>A uint8 tensor (e.g. serialized RNG state), bytes copied.</summary>
    public static SafetensorsEntry FromBytes(string name, IEnumerable<long> shape, ReadOnlySpan<byte> values) =>
        new(name, SafetensorsDtype.U8, shape, values.ToArray());

    /// <summary>
    /// ElementSize(dtype) * product(shape), or null when that overflows a long.
    /// Dimensions must already be known to be non-negative.
    /// </summary>
    internal static long? ByteLength(SafetensorsDtype dtype, ReadOnlySpan<long> shape)
    {
        long total = dtype.ElementSize();
        foreach (long dim in shape)
        {
            // A zero dimension makes the product zero whatever overflow the other factors would cause.
            if (dim == 0)
                return 0;
        }
        foreach (long dim in shape)
        {
            if (total > long.MaxValue / dim)
                return null;
            total *= dim;
        }
        return total;
    }
}
