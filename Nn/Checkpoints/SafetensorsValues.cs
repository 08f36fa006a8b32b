using System.Buffers.Binary;

namespace CudaNn.Checkpoints;

/// <summary>
/// Reads a tensor's bytes as .NET numbers. Widening conversions are exact (F16 and BF16 to
/// float, any float type to double, any integer type to long); F64 to float rounds to nearest.
/// A dtype that cannot convert throws <see cref="InvalidOperationException"/> naming the tensor.
/// </summary>
internal static class SafetensorsValues
{
    /// <summary>The elements as float32: F32 as is, F16 and BF16 widened exactly, F64 rounded to nearest.</summary>
    public static float[] ToFloatArray(this SafetensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ReadOnlySpan<byte> bytes = entry.Data.Span;
        var values = new float[entry.ElementCount];
        switch (entry.Dtype)
        {
            case SafetensorsDtype.F32:
                for (int i = 0; i < values.Length; i++)
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                break;
            case SafetensorsDtype.F16:
                for (int i = 0; i < values.Length; i++)
                    values[i] = HalfPrecision.HalfBitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]));
                break;
            case SafetensorsDtype.BF16:
                for (int i = 0; i < values.Length; i++)
                    values[i] = HalfPrecision.BFloat16BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]));
                break;
            case SafetensorsDtype.F64:
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                break;
            default:
                throw NotConvertible(entry, "float");
        }
        return values;
    }

    /// <summary>The elements as float64: every floating dtype widens exactly.</summary>
    public static double[] ToDoubleArray(this SafetensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Dtype == SafetensorsDtype.F64)
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
    public static long[] ToInt64Array(this SafetensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ReadOnlySpan<byte> b = entry.Data.Span;
        var values = new long[entry.ElementCount];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = entry.Dtype switch
            {
                SafetensorsDtype.Bool => b[i] != 0 ? 1 : 0,
                SafetensorsDtype.U8 => b[i],
                SafetensorsDtype.I8 => (sbyte)b[i],
                SafetensorsDtype.I16 => BinaryPrimitives.ReadInt16LittleEndian(b[(i * 2)..]),
                SafetensorsDtype.U16 => BinaryPrimitives.ReadUInt16LittleEndian(b[(i * 2)..]),
                SafetensorsDtype.I32 => BinaryPrimitives.ReadInt32LittleEndian(b[(i * 4)..]),
                SafetensorsDtype.U32 => BinaryPrimitives.ReadUInt32LittleEndian(b[(i * 4)..]),
                SafetensorsDtype.I64 => BinaryPrimitives.ReadInt64LittleEndian(b[(i * 8)..]),
                SafetensorsDtype.U64 => ToInt64(entry, BinaryPrimitives.ReadUInt64LittleEndian(b[(i * 8)..])),
                _ => throw NotConvertible(entry, "long"),
            };
        }
        return values;
    }

    /// <summary>The elements as int32: I32 and the narrower integer dtypes and BOOL.</summary>
    public static int[] ToInt32Array(this SafetensorsEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Dtype is not (SafetensorsDtype.Bool or SafetensorsDtype.U8 or SafetensorsDtype.I8
            or SafetensorsDtype.I16 or SafetensorsDtype.U16 or SafetensorsDtype.I32))
        {
            throw NotConvertible(entry, "int");
        }
        return Array.ConvertAll(entry.ToInt64Array(), v => (int)v);
    }

    private static long ToInt64(SafetensorsEntry entry, ulong value) =>
        value <= long.MaxValue
            ? (long)value
            : throw new InvalidOperationException($"tensor '{entry.Name}': U64 value {value} does not fit a long");

    private static InvalidOperationException NotConvertible(SafetensorsEntry entry, string target) =>
        new($"tensor '{entry.Name}' has dtype {entry.Dtype.HeaderName()}, which does not convert to {target}");
}

/// <summary>
/// Bit-level widening of the two 16-bit float formats to float32. Both are exact: every F16
/// and BF16 value, subnormals, infinities and NaN payloads included, is a float32 value.
/// </summary>
internal static class HalfPrecision
{
    /// <summary>
    /// IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits) to float32:
    /// normal = (-1)^s * 2^(e-15) * (1 + m/1024), subnormal = (-1)^s * 2^-14 * (m/1024).
    /// </summary>
    public static float HalfBitsToSingle(ushort bits)
    {
        uint sign = (uint)(bits & 0x8000) << 16;
        int exponent = (bits >> 10) & 0x1F;
        uint mantissa = (uint)bits & 0x3FF;
        if (exponent == 0x1F)
        {
            // Infinity or NaN: keep the payload in the top mantissa bits so a quiet NaN stays quiet.
            return BitConverter.UInt32BitsToSingle(sign | 0x7F80_0000u | (mantissa << 13));
        }
        if (exponent == 0)
        {
            // Zero or subnormal: m * 2^-24 is exact in float32 (24-bit significand).
            float magnitude = mantissa * (1.0f / 16_777_216f);
            return sign != 0 ? -magnitude : magnitude;
        }
        // Re-bias the exponent from 15 to 127 and widen the mantissa from 10 to 23 bits.
        uint widened = ((uint)(exponent - 15 + 127) << 23) | (mantissa << 13);
        return BitConverter.UInt32BitsToSingle(sign | widened);
    }

    /// <summary>bfloat16 is the top half of a float32: value = float32 with bits (b &lt;&lt; 16).</summary>
    public static float BFloat16BitsToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
