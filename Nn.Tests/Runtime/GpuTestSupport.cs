using CudaNn.Cuda;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Runtime;

/// <summary>Helpers shared by the GPU tests of Cuda.Runtime: the test module for the device, random data, a reference GEMM.</summary>
internal static class GpuTestSupport
{
    /// <summary>
    /// Compiles <see cref="TestKernels.Source"/> for <paramref name="device"/>: a CUBIN when this NVRTC knows the
    /// device's architecture, otherwise PTX for the newest architecture it knows below it (the driver JITs it).
    /// </summary>
    public static byte[] CompileTestKernels(CudaGpu device)
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();
        ComputeCapability cc = device.ComputeCapability;
        int wanted = cc.Major * 10 + cc.Minor;
        string arch = nvrtc.SupportedArchitectures.Contains(wanted)
            ? cc.RealArchitecture
            : $"compute_{nvrtc.SupportedArchitectures.Where(a => a <= wanted).Max()}";
        TestContext.Out.WriteLine($"compiling test kernels with NVRTC {nvrtc.Version} for {arch} ({device.Name})");
        return nvrtc.Compile(TestKernels.Source, TestKernels.ProgramName, [$"-arch={arch}"]).Image;
    }

    /// <summary><paramref name="count"/> uniform floats in [-1, 1) from a fixed, printed seed.</summary>
    public static float[] RandomFloats(int count, int seed)
    {
        TestContext.Out.WriteLine($"random inputs: seed {seed}, {count} values");
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1).ToArray();
    }

    /// <summary>
    /// Column-major C = alpha·op(A)·op(B) + beta·C in float64, the cuBLAS definition written out:
    /// op(A)[i,p] = transA ? a[p + i·lda] : a[i + p·lda]; op(B)[p,j] = transB ? b[j + p·ldb] : b[p + j·ldb];
    /// C[i,j] = c[i + j·ldc]. Also returns, per element, Σ|alpha·op(A)[i,p]·op(B)[p,j]| + |beta·C[i,j]|
    /// for the rounding bound. With beta = 0 the old C is not read.
    /// </summary>
    public static (double[] Result, double[] Magnitude) ReferenceGemm(GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var result = new double[c.Length];
        var magnitude = new double[c.Length];
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < m; i++)
            {
                double sum = 0, size = 0;
                for (int p = 0; p < k; p++)
                {
                    double aip = transA == GemmOp.Transpose ? a[p + i * lda] : a[i + p * lda];
                    double bpj = transB == GemmOp.Transpose ? b[j + p * ldb] : b[p + j * ldb];
                    sum += aip * bpj;
                    size += Math.Abs(aip * bpj);
                }
                double old = beta == 0 ? 0 : (double)beta * c[i + j * ldc];
                result[i + j * ldc] = alpha * sum + old;
                magnitude[i + j * ldc] = Math.Abs(alpha) * size + Math.Abs(old);
            }
        }
        return (result, magnitude);
    }

    /// <summary>
    /// FP32 GEMM error bound for reduction length k: |got − ref| ≤ (k + 2)·2⁻²³·magnitude + 1e-30, the classic
    /// γ_k bound with float's unit round-off doubled for safety against cuBLAS's split-k reorderings.
    /// </summary>
    public static void AssertGemmClose(float[] got, double[] reference, double[] magnitude, int m, int n, int ldc, int k, string label)
    {
        double unit = Math.Pow(2, -23);
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < m; i++)
            {
                int index = i + j * ldc;
                double bound = (k + 2) * unit * magnitude[index] + 1e-30;
                double error = Math.Abs(got[index] - reference[index]);
                if (!(error <= bound))
                    Assert.Fail($"{label}: C[{i},{j}] = {got[index]:R}, reference {reference[index]:R}, error {error:E2} > bound {bound:E2}");
            }
        }
    }
}
