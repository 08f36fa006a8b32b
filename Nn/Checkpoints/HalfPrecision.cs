namespace CudaNn.Checkpoints;

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
