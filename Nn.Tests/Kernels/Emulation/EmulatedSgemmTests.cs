using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.Runtime;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>The emulator's Sgemm against the float64 column-major reference, with cuBLAS's transposes, leading dimensions and beta.</summary>
public class EmulatedSgemmTests
{
    private static readonly object[] Cases =
    [
        new object[] { false, false, 19, 7, 33, 0f },
        new object[] { true, false, 5, 13, 1, 1f },
        new object[] { false, true, 1, 1, 65, 0f },
        new object[] { true, true, 31, 17, 9, 1f },
        new object[] { false, false, 64, 3, 128, 1f },
        new object[] { true, true, 3, 29, 40, 0f },
    ];

    [TestCase(1f, 1f)]
    [TestCase(1f + 1f / 4096, 1f)]                    // below half a TF32 ulp (2^-10 at 1): down
    [TestCase(1f + 1f / 2048, 1f + 1f / 1024)]        // exactly half: away from zero
    [TestCase(-(1f + 1f / 2048), -(1f + 1f / 1024))]
    [TestCase(1f + 3f / 4096, 1f + 1f / 1024)]        // above half: up
    [TestCase(float.PositiveInfinity, float.PositiveInfinity)]
    [TestCase(float.NaN, float.NaN)]
    public void RoundToTf32_KeepsTenMantissaBits_RoundingHalfAwayFromZero(float value, float expected)
    {
        Assert.That(HostSgemm.RoundToTf32(value), Is.EqualTo(expected));
    }

    [TestCase(1f, 1f)]
    [TestCase(1f + 1f / 512, 1f)]                     // below half a BF16 ulp (2^-7 at 1): down
    [TestCase(1f + 1f / 256, 1f)]                     // exactly half, the even neighbour below
    [TestCase(1f + 3f / 256, 1f + 1f / 64)]           // exactly half, the even neighbour above
    [TestCase(-(1f + 3f / 256), -(1f + 1f / 64))]
    [TestCase(1f + 1f / 256 + 1f / 2048, 1f + 1f / 128)] // above half: up
    [TestCase(float.NegativeInfinity, float.NegativeInfinity)]
    [TestCase(float.NaN, float.NaN)]
    public void RoundToBf16_KeepsSevenMantissaBits_RoundingHalfToEven(float value, float expected)
    {
        Assert.That(HostSgemm.RoundToBf16(value), Is.EqualTo(expected));
    }

    [TestCase(Precision.TF32)]
    [TestCase(Precision.BF16)]
    public void ReducedPrecisionSgemm_IsTheFloat64ProductOfRoundedInputs(Precision precision)
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int m = 13, n = 9, k = 300;
        float[] a = RandomFloats(m * k, seed: 77), b = RandomFloats(k * n, seed: 78), c = new float[m * n];
        DevicePtr da = Upload(device, a), db = Upload(device, b), dc = Upload(device, c);
        device.GemmPrecision = precision;
        device.Sgemm(stream, GemmOp.None, GemmOp.None, m, n, k, 1f, da, m, db, k, 0f, dc, m);
        device.GemmPrecision = Precision.FP32;
        float[] got = Download(device, dc, c.Length);

        float[] ar = Array.ConvertAll(a, v => HostSgemm.Round(v, precision)), br = Array.ConvertAll(b, v => HostSgemm.Round(v, precision));
        var (rounded, magnitude) = GpuTestSupport.ReferenceGemm(GemmOp.None, GemmOp.None, m, n, k, 1f, ar, m, br, k, 0f, c, m);
        GpuTestSupport.AssertGemmClose(got, rounded, magnitude, m, n, m, k, $"{precision} inputs, FP32 accumulation");
        var (exact, _) = GpuTestSupport.ReferenceGemm(GemmOp.None, GemmOp.None, m, n, k, 1f, a, m, b, k, 0f, c, m);
        double largest = got.Select((v, i) => Math.Abs(v - exact[i])).Max();
        TestContext.Out.WriteLine($"largest difference from the unrounded product: {largest:E2}");
        Assert.That(largest, Is.GreaterThan(0), "the inputs were rounded");
    }

    // Leading dimensions larger than the stored rows, so a loop that ignores them reads the padding (NaN) and fails.
    [TestCaseSource(nameof(Cases))]
    public void Sgemm_MatchesReference_WithPaddedLeadingDimensions(bool transposeA, bool transposeB, int m, int n, int k, float beta)
    {
        GemmOp transA = transposeA ? GemmOp.Transpose : GemmOp.None, transB = transposeB ? GemmOp.Transpose : GemmOp.None;
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        int aRows = transA == GemmOp.None ? m : k, aColumns = transA == GemmOp.None ? k : m;
        int bRows = transB == GemmOp.None ? k : n, bColumns = transB == GemmOp.None ? n : k;
        int lda = aRows + 3, ldb = bRows + 1, ldc = m + 2;
        float[] a = Padded(RandomFloats(lda * aColumns, seed: 1000 + m), lda, aRows);
        float[] b = Padded(RandomFloats(ldb * bColumns, seed: 1100 + n), ldb, bRows);
        // beta = 0: C holds NaN everywhere and must not be read; beta = 1: C holds values to accumulate onto.
        float[] c = beta == 0 ? Enumerable.Repeat(float.NaN, ldc * n).ToArray() : Padded(RandomFloats(ldc * n, seed: 1200 + k), ldc, m);
        DevicePtr da = Upload(device, a), db = Upload(device, b), dc = Upload(device, c);

        device.Sgemm(stream, transA, transB, m, n, k, 0.75f, da, lda, db, ldb, beta, dc, ldc);

        float[] got = Download(device, dc, c.Length);
        var (reference, magnitude) = GpuTestSupport.ReferenceGemm(transA, transB, m, n, k, 0.75f, a, lda, b, ldb, beta, c, ldc);
        GpuTestSupport.AssertGemmClose(got, reference, magnitude, m, n, ldc, k, $"{transA}/{transB} {m}x{n}x{k} beta {beta}");
        for (int j = 0; j < n; j++)
            for (int i = m; i < ldc; i++)
                Assert.That(BitConverter.SingleToUInt32Bits(got[i + j * ldc]), Is.EqualTo(BitConverter.SingleToUInt32Bits(c[i + j * ldc])), $"padding C[{i},{j}] must be untouched");
    }

    [Test]
    public void Sgemm_OperandPastItsAllocation_ThrowsNamingIt()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr a = device.Allocate<float>(4 * 4), b = device.Allocate<float>(4 * 3), c = device.Allocate<float>(4 * 4);

        Assert.That(() => device.Sgemm(stream, GemmOp.None, GemmOp.None, 4, 4, 4, 1f, a, 4, b, 4, 0f, c, 4),
            Throws.ArgumentException.With.Message.Contains("Sgemm B"));
        Assert.That(() => device.Sgemm(stream, GemmOp.None, GemmOp.None, 4, 4, 4, 1f, a, 3, b, 4, 0f, c, 4),
            Throws.ArgumentException.With.Message.Contains("lda=3"));
    }

    private static float[] Padded(float[] values, int ld, int rows)
    {
        for (int i = 0; i < values.Length; i++)
            if (i % ld >= rows)
                values[i] = float.NaN;
        return values;
    }
}
