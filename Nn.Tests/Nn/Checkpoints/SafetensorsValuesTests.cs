using CudaNn.Checkpoints;

namespace CudaNn.Tests.Nn.Checkpoints;

public class SafetensorsValuesTests
{
    // Expected values worked out from the bit layouts (sign | exponent | mantissa).
    [TestCase((ushort)0x3C00, 1.0f)]
    [TestCase((ushort)0xC000, -2.0f)]
    [TestCase((ushort)0x3555, 0.333251953125f)]         // 2^-2 * (1 + 341/1024)
    [TestCase((ushort)0x7BFF, 65504.0f)]                 // largest finite half
    [TestCase((ushort)0x0400, 6.103515625e-05f)]         // 2^-14, smallest normal
    [TestCase((ushort)0x0001, 5.9604644775390625e-08f)]  // 2^-24, smallest subnormal
    [TestCase((ushort)0x03FF, 6.097555160522461e-05f)]   // 1023 * 2^-24, largest subnormal
    [TestCase((ushort)0x7C00, float.PositiveInfinity)]
    [TestCase((ushort)0xFC00, float.NegativeInfinity)]
    public void HalfBitsToSingle_KnownValues(ushort bits, float expected) =>
        Assert.That(HalfPrecision.HalfBitsToSingle(bits), Is.EqualTo(expected));

    [TestCase((ushort)0x3F80, 1.0f)]
    [TestCase((ushort)0xC000, -2.0f)]
    [TestCase((ushort)0x4049, 3.140625f)]                // 2 * (1 + 73/128)
    [TestCase((ushort)0x0080, 1.1754943508222875e-38f)]  // 2^-126, smallest normal
    [TestCase((ushort)0x0001, 9.183549615799121e-41f)]   // 2^-133, a float32 subnormal
    [TestCase((ushort)0x7F80, float.PositiveInfinity)]
    [TestCase((ushort)0xFF80, float.NegativeInfinity)]
    public void BFloat16BitsToSingle_KnownValues(ushort bits, float expected) =>
        Assert.That(HalfPrecision.BFloat16BitsToSingle(bits), Is.EqualTo(expected));

    [Test]
    public void NegativeZeroAndNaN_KeepTheirSignAndNaNness()
    {
        Assert.That(BitConverter.SingleToUInt32Bits(HalfPrecision.HalfBitsToSingle(0x8000)), Is.EqualTo(0x8000_0000u));
        Assert.That(BitConverter.SingleToUInt32Bits(HalfPrecision.BFloat16BitsToSingle(0x8000)), Is.EqualTo(0x8000_0000u));
        Assert.That(HalfPrecision.HalfBitsToSingle(0x7E00), Is.NaN);
        Assert.That(HalfPrecision.HalfBitsToSingle(0xFC01), Is.NaN);
        Assert.That(HalfPrecision.BFloat16BitsToSingle(0x7FC0), Is.NaN);
        Assert.That(HalfPrecision.BFloat16BitsToSingle(0xFF81), Is.NaN);
    }

    /// <summary>Every one of the 65,536 half bit patterns against .NET's own System.Half conversion.</summary>
    [Test]
    public void HalfBitsToSingle_AgreesWithSystemHalfForAllPatterns()
    {
        int mismatches = 0;
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float ours = HalfPrecision.HalfBitsToSingle((ushort)bits);
            float reference = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
            bool same = float.IsNaN(reference) ? float.IsNaN(ours) : BitConverter.SingleToUInt32Bits(ours) == BitConverter.SingleToUInt32Bits(reference);
            if (!same)
                mismatches++;
        }
        Assert.That(mismatches, Is.Zero);
    }

    [Test]
    public void HalfAndBFloat16Tensors_ReadAsFloatsThroughAFile()
    {
        byte[] halfBits = [0x00, 0x3C, 0x01, 0x00, 0x00, 0x7C, 0x00, 0x7E]; // 1, 2^-24, +inf, NaN (little-endian)
        byte[] bf16Bits = [0x80, 0x3F, 0x49, 0x40, 0x80, 0xFF];             // 1, 3.140625, -inf
        byte[] bytes = SafetensorsWriter.ToBytes(
        [
            new SafetensorsEntry("h", SafetensorsDtype.F16, [2, 2], halfBits),
            new SafetensorsEntry("b", SafetensorsDtype.BF16, [3], bf16Bits),
            SafetensorsEntry.FromDoubles("d", [2], [0.1, 1e300]),
        ]);
        SafetensorsFile file = SafetensorsReader.Read(bytes, "mixed");

        float[] h = file.GetFloats("h", [2, 2]);
        Assert.That(h[..3], Is.EqualTo(new[] { 1f, 5.9604644775390625e-08f, float.PositiveInfinity }));
        Assert.That(h[3], Is.NaN);
        Assert.That(file.GetFloats("b"), Is.EqualTo(new[] { 1f, 3.140625f, float.NegativeInfinity }));
        Assert.That(file.GetDoubles("b"), Is.EqualTo(new[] { 1.0, 3.140625, double.NegativeInfinity }));
        Assert.That(file.GetFloats("d"), Is.EqualTo(new[] { (float)0.1, float.PositiveInfinity }), "F64 to float rounds to nearest");
    }

    [Test]
    public void IntegerTensors_WidenToLong()
    {
        var entries = new[]
        {
            new SafetensorsEntry("i8", SafetensorsDtype.I8, [2], new byte[] { 0xFF, 0x7F }),
            new SafetensorsEntry("u16", SafetensorsDtype.U16, [1], new byte[] { 0xFF, 0xFF }),
            new SafetensorsEntry("bool", SafetensorsDtype.Bool, [2], new byte[] { 0, 5 }),
            new SafetensorsEntry("u32", SafetensorsDtype.U32, [1], new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }),
        };
        Assert.That(entries[0].ToInt64Array(), Is.EqualTo(new long[] { -1, 127 }));
        Assert.That(entries[1].ToInt64Array(), Is.EqualTo(new long[] { 65535 }));
        Assert.That(entries[2].ToInt64Array(), Is.EqualTo(new long[] { 0, 1 }));
        Assert.That(entries[3].ToInt64Array(), Is.EqualTo(new long[] { uint.MaxValue }));
        Assert.That(() => entries[3].ToInt32Array(), Throws.InvalidOperationException.With.Message.Contains("'u32'"));
        var big = new SafetensorsEntry("u64", SafetensorsDtype.U64, [1], BitConverter.GetBytes(ulong.MaxValue));
        Assert.That(() => big.ToInt64Array(), Throws.InvalidOperationException.With.Message.Contains("does not fit"));
    }

    [Test]
    public void FileLookups_ThrowCheckpointFormatExceptionNamingTheFile()
    {
        byte[] bytes = SafetensorsWriter.ToBytes([SafetensorsEntry.FromInt64s("step", [1], [4]), SafetensorsEntry.FromFloats("w", [2], [1, 2])]);
        SafetensorsFile file = SafetensorsReader.Read(bytes, "ckpt.safetensors");
        Assert.That(() => file.GetFloats("step"), Throws.TypeOf<CheckpointFormatException>()
            .With.Message.EqualTo("ckpt.safetensors: tensor 'step' has dtype I64, expected F32 (or F16, BF16, F64)"));
        Assert.That(() => file.GetFloats("w", [3]), Throws.TypeOf<CheckpointFormatException>()
            .With.Message.EqualTo("ckpt.safetensors: tensor 'w' has shape [2], expected [3]"));
        Assert.That(() => file.GetFloats("fc9.bias"), Throws.TypeOf<CheckpointFormatException>()
            .With.Message.EqualTo("ckpt.safetensors: no tensor named 'fc9.bias' (the file has step, w)"));
        Assert.That(() => file.GetInt64s("w"), Throws.TypeOf<CheckpointFormatException>().With.Message.Contains("'w' has dtype F32"));
    }
}
