using CudaNn.Cuda;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Runtime;

/// <summary>cuBLAS Sgemm against the float64 column-major reference, odd sizes and padded leading dimensions.</summary>
[Category("Gpu")]
public class CublasGpuTests
{
    private const int M = 37, N = 23, K = 51, Padding = 3;

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void Sgemm_MatchesReference(bool transposeA, bool transposeB)
    {
        GemmOp transA = transposeA ? GemmOp.Transpose : GemmOp.None, transB = transposeB ? GemmOp.Transpose : GemmOp.None;
        CudaContext context = Requirements.Gpu().PrimaryContext;
        var (lda, aCols) = transA == GemmOp.None ? (M + Padding, K) : (K + Padding, M);
        var (ldb, bCols) = transB == GemmOp.None ? (K + Padding, N) : (N + Padding, K);
        int ldc = M + Padding;
        float[] a = GpuTestSupport.RandomFloats(lda * aCols, seed: 501);
        float[] b = GpuTestSupport.RandomFloats(ldb * bCols, seed: 502);
        float[] c = GpuTestSupport.RandomFloats(ldc * N, seed: 503);
        using DeviceBuffer<float> da = context.Allocate<float>(a.Length);
        using DeviceBuffer<float> db = context.Allocate<float>(b.Length);
        using DeviceBuffer<float> dc = context.Allocate<float>(c.Length);
        da.CopyFrom(a);
        db.CopyFrom(b);
        dc.CopyFrom(c);
        using CudaStream stream = context.CreateStream();
        using var cublas = new CublasHandle(context);
        cublas.SetStream(stream);
        TestContext.Out.WriteLine($"cuBLAS {CublasLibrary.Version} (handle reports {cublas.Version})");

        cublas.Sgemm(transA, transB, M, N, K, 1.5f, da.Pointer, lda, db.Pointer, ldb, 0.5f, dc.Pointer, ldc);
        stream.Synchronize();

        var (reference, magnitude) = GpuTestSupport.ReferenceGemm(transA, transB, M, N, K, 1.5f, a, lda, b, ldb, 0.5f, c, ldc);
        float[] got = dc.ToArray();
        GpuTestSupport.AssertGemmClose(got, reference, magnitude, M, N, ldc, K, $"{transA}/{transB}");
        for (int j = 0; j < N; j++)
            for (int i = M; i < ldc; i++)
                Assert.That(got[i + j * ldc], Is.EqualTo(c[i + j * ldc]), $"padding row {i} of column {j} must be untouched");
    }

    [Test]
    public void Sgemm_BetaZero_OverwritesNaNInC()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        float[] a = GpuTestSupport.RandomFloats(M * K, seed: 511);
        float[] b = GpuTestSupport.RandomFloats(K * N, seed: 512);
        float[] c = Enumerable.Repeat(float.NaN, M * N).ToArray();
        using DeviceBuffer<float> da = context.Allocate<float>(a.Length), db = context.Allocate<float>(b.Length), dc = context.Allocate<float>(c.Length);
        da.CopyFrom(a);
        db.CopyFrom(b);
        dc.CopyFrom(c);
        using var cublas = new CublasHandle(context);

        cublas.Sgemm(GemmOp.None, GemmOp.None, M, N, K, 1f, da.Pointer, M, db.Pointer, K, 0f, dc.Pointer, M);
        context.Synchronize();

        var (reference, magnitude) = GpuTestSupport.ReferenceGemm(GemmOp.None, GemmOp.None, M, N, K, 1f, a, M, b, K, 0f, c, M);
        GpuTestSupport.AssertGemmClose(dc.ToArray(), reference, magnitude, M, N, M, K, "beta=0");
    }

    [Test]
    public void Sgemm_LdaTooSmall_ThrowsBeforeCallingCublas()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        using var cublas = new CublasHandle(context);

        Assert.That(() => cublas.Sgemm(GemmOp.None, GemmOp.None, M, N, K, 1f, DevicePtr.Null, M - 1, DevicePtr.Null, K, 0f, DevicePtr.Null, M),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("lda"));
    }
}
