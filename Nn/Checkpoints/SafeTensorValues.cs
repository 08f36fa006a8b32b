using System.Buffers.Binary;

namespace CudaNn.Checkpoints;

/// <summary>
/// Reads a tensor's bytes as .NET numbers. Widening conversions are exact (F16 and BF16 to
/// float, any float type to double, any integer type to long); F64 to float rounds to nearest.
/// A dtype that cannot convert throws <see cref="InvalidOperationException"/> naming the tensor.
/// </summary>
public static class SafeTensorValues
{
    /// <summary>The elements as float32: F32 as is, F16 and BF16 widened exactly, F64 rounded to nearest.</summary>
    public static float[] ToFloatArray(this SafeTensorEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ReadOnlySpan<byte> bytes = entry.Data.Span;
        var values = new float[entry.ElementCount];
        switch (entry.Dtype)
        {
            case SafeTensorDtype.F32:
                for (int i = 0; i < values.Length; i++)
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                break;
            case SafeTensorDtype.F16:
                for (int i = 0; i < values.Length; i++)
                    values[i] = HalfPrecision.HalfBitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]));
                break;
            case SafeTensorDtype.BF16:
                for (int i = 0; i < values.Length; i++)
                    values[i] = HalfPrecision.BFloat16BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]));
                break;
            case SafeTensorDtype.F64:
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                break;
            default:
                throw NotConvertible(entry, "float");
        }
        return values;
    }

    /// <summary>The elements as float64: every floating dtype widens exactly.</summary>
    public static double[] ToDoubleArray(this SafeTensorEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Dtype == SafeTensorDtype.F64)
        {
            ReadOnlySpan<byte> bytes = entry.Data.Span;
            var doubles = new double[entry.ElementCount];
            for (int i = 0; i < doubles.Length; i++)
                doubles[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
            return doubles;
        }
        if (!entry.Dtype.IsFloatingPoint())
            throw NotConvertible(entry, "double");
        float[] singles = entry.ToFloatArray();
        return Array.ConvertAll(singles, v => (double)v);
    }

    /// <summary>The elements as int64: every integer dtype and BOOL (0/1); U64 above long.MaxValue throws.</summary>
    public static long[] ToInt64Array(this SafeTensorEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ReadOnlySpan<byte> b = entry.Data.Span;
        var values = new long[entry.ElementCount];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = entry.Dtype switch
            {
                SafeTensorDtype.Bool => b[i] != 0 ? 1 : 0,
                SafeTensorDtype.U8 => b[i],
                SafeTensorDtype.I8 => (sbyte)b[i],
                SafeTensorDtype.I16 => BinaryPrimitives.ReadInt16LittleEndian(b[(i * 2)..]),
                SafeTensorDtype.U16 => BinaryPrimitives.ReadUInt16LittleEndian(b[(i * 2)..]),
                SafeTensorDtype.I32 => BinaryPrimitives.ReadInt32LittleEndian(b[(i * 4)..]),
                SafeTensorDtype.U32 => BinaryPrimitives.ReadUInt32LittleEndian(b[(i * 4)..]),
                SafeTensorDtype.I64 => BinaryPrimitives.ReadInt64LittleEndian(b[(i * 8)..]),
                SafeTensorDtype.U64 => ToInt64(entry, BinaryPrimitives.ReadUInt64LittleEndian(b[(i * 8)..])),
                _ => throw NotConvertible(entry, "long"),
            };
        }
        return values;
    }

    /// <summary>The elements as int32: I32 and the narrower integer dtypes and BOOL.</summary>
    public static int[] ToInt32Array(this SafeTensorEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Dtype is not (SafeTensorDtype.Bool or SafeTensorDtype.U8 or SafeTensorDtype.I8
            or SafeTensorDtype.I16 or SafeTensorDtype.U16 or SafeTensorDtype.I32))
        {
            throw NotConvertible(entry, "int");
        }
        return Array.ConvertAll(entry.ToInt64Array(), v => (int)v);
    }

    private static long ToInt64(SafeTensorEntry entry, ulong value) =>
        value <= long.MaxValue
            ? (long)value
            : throw new InvalidOperationException($"tensor '{entry.Name}': U64 value {value} does not fit a long");

    private static InvalidOperationException NotConvertible(SafeTensorEntry entry, string target) =>
        new($"tensor '{entry.Name}' has dtype {entry.Dtype.HeaderName()}, which does not convert to {target}");
}
