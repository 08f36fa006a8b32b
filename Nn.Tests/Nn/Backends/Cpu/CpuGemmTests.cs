using System.Numerics;
using CudaNn.Backends.Cpu;
using CudaNn.Backends.Reference;

namespace CudaNn.Tests.Nn.Backends.Cpu;

/// <summary>
/// CpuGemm.Gemm against the reference backend's plain loops (ReferenceBackend.GemmLoops). Tolerance for every element of C:
/// |c - ref| &lt;= tol * (|alpha| * sum_p |op(A)[i,p] op(B)[p,j]| + |beta c0[i,j]|) + 1e-30,
/// with tol = 1e-5 for float and 1e-13 for double (summation order differs, nothing else).
/// </summary>
[TestFixture]
public class CpuGemmTests
{
    private const int Seed = 20250611;

    // (m, n, k): odd sizes around the tile and lane widths, and ragged edges on every side.
    private static readonly (int M, int N, int K)[] Sizes =
    [
        (1, 1, 1), (7, 7, 7), (1, 33, 65), (31, 33, 7), (33, 31, 65), (64, 64, 64), (65, 127, 33),
        (127, 65, 127), (7, 784, 31), (33, 7, 784), (65, 128, 784),
    ];

    // The MNIST MLP at batch 64 and 1024: forward y = x W^T (NT), dx = dy W (NN), dW += dy^T x (TN, beta 1).
    private static IEnumerable<TestCaseData> MlpCases()
    {
        foreach (int batch in new[] { 64, 1024 })
            foreach (var (inF, outF) in new[] { (784, 128), (128, 64), (64, 10) })
            {
                yield return new TestCaseData(false, true, batch, outF, inF, 0.0).SetArgDisplayNames($"fwd B{batch} {inF}->{outF}");
                yield return new TestCaseData(false, false, batch, inF, outF, 0.0).SetArgDisplayNames($"dx B{batch} {inF}->{outF}");
                yield return new TestCaseData(true, false, outF, inF, batch, 1.0).SetArgDisplayNames($"dW B{batch} {inF}->{outF}");
            }
    }

    private static IEnumerable<TestCaseData> SizeCases()
    {
        foreach (var (m, n, k) in Sizes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return new TestCaseData(ta, tb, m, n, k).SetArgDisplayNames($"{(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')} {m}x{n}x{k}");
    }

    [TestCaseSource(nameof(SizeCases))]
    public void Gemm_MatchesReference_Float(bool ta, bool tb, int m, int n, int k) =>
        CheckAgainstReference<float>(ta, tb, m, n, k, 1f, 0f, extraLd: 0, tol: 1e-5);

    [TestCaseSource(nameof(SizeCases))]
    public void Gemm_MatchesReference_Double(bool ta, bool tb, int m, int n, int k) =>
        CheckAgainstReference<double>(ta, tb, m, n, k, 1.0, 0.0, extraLd: 0, tol: 1e-13);

    [TestCaseSource(nameof(SizeCases))]
    public void Gemm_WithPaddedLeadingDimsAndAlphaBeta_MatchesReference(bool ta, bool tb, int m, int n, int k)
    {
        CheckAgainstReference<float>(ta, tb, m, n, k, 0.5f, -0.25f, extraLd: 3, tol: 1e-5);
        CheckAgainstReference<double>(ta, tb, m, n, k, 0.5, 1.0, extraLd: 5, tol: 1e-13);
    }

    [TestCaseSource(nameof(MlpCases))]
    public void Gemm_MlpShapes_MatchReference(bool ta, bool tb, int m, int n, int k, double beta)
    {
        CheckAgainstReference<float>(ta, tb, m, n, k, 1f, (float)beta, extraLd: 0, tol: 1e-5);
        if ((long)m * n * k <= 10_000_000) // the plain double loop at batch 1024 would dominate the suite
            CheckAgainstReference<double>(ta, tb, m, n, k, 1.0, beta, extraLd: 0, tol: 1e-13);
    }

    [Test]
    public void Gemm_EveryAcceleratedLaneWidth_MatchesReference()
    {
        // The dispatcher picks the widest lane; force the narrower ones so they are checked too.
        foreach (var (ta, tb, m, n, k) in new[] { (false, true, 5, 37, 200), (false, true, 65, 37, 200), (false, false, 33, 70, 300), (true, false, 70, 33, 65), (true, true, 9, 17, 300) })
        {
            CheckWithLane<float, Lane512<float>>(ta, tb, m, n, k);
            CheckWithLane<float, Lane256<float>>(ta, tb, m, n, k);
            CheckWithLane<float, Lane128<float>>(ta, tb, m, n, k);
            CheckWithLane<double, Lane512<double>>(ta, tb, m, n, k);
            CheckWithLane<double, Lane256<double>>(ta, tb, m, n, k);
            CheckWithLane<double, Lane128<double>>(ta, tb, m, n, k);
        }
    }

    // 257 x 131 x 784: every transpose; then the packed path's splits, where one operand is packed once for every
    // thread: rows split (the forward from 512 rows, all of op(B) packed ahead) and columns split (the weight
    // gradient, all of op(A) packed ahead), k cut into equal blocks (784 = 4 x 196, 1,100 = 5 x 220).
    [TestCase(false, true, 257, 131, 784), TestCase(false, false, 257, 131, 784), TestCase(true, false, 257, 131, 784), TestCase(true, true, 257, 131, 784)]
    [TestCase(false, true, 600, 131, 784), TestCase(false, false, 1030, 70, 300), TestCase(true, false, 70, 784, 1100)]
    public void Gemm_IsBitIdenticalAcrossRunsAndThreadCounts(bool ta, bool tb, int m, int n, int k)
    {
        var (a, b, c0) = RandomOperands<float>(ta, tb, m, n, k, 0, new Random(Seed));
        float[] first = (float[])c0.Clone(), second = (float[])c0.Clone(), serial = (float[])c0.Clone();
        CpuGemm.Gemm(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 1f, first, n);
        CpuGemm.Gemm(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 1f, second, n);
        RunSerial(ta, tb, m, n, k, a, b, serial);
        Assert.That(second, Is.EqualTo(first).AsCollection, "two runs differ");
        Assert.That(serial, Is.EqualTo(first).AsCollection, "single-threaded run differs from the parallel one");
        CheckAgainstReference<float>(ta, tb, m, n, k, 1f, 1f, extraLd: 0, tol: 1e-5);
    }

    [Test]
    public void Gemm_AlphaZeroOrKZero_OnlyScalesC()
    {
        float[] a = [float.NaN, 1f], b = [2f, float.NaN], c = [float.NaN, 4f];
        CpuGemm.Gemm(false, false, 1, 2, 1, 0f, a, 1, b, 2, 0f, c, 2);
        Assert.That(c, Is.EqualTo(new[] { 0f, 0f }).AsCollection, "alpha 0, beta 0 must zero C without reading A, B or C");
        c = [3f, 4f];
        CpuGemm.Gemm(false, false, 1, 2, 0, 1f, [], 1, [], 2, 0.5f, c, 2);
        Assert.That(c, Is.EqualTo(new[] { 1.5f, 2f }).AsCollection, "k = 0 leaves beta * C");
    }

    [Test]
    public void Gemm_LeadingDimensionTooSmall_NamesShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            CpuGemm.Gemm(false, true, 64, 128, 784, 1f, new float[64 * 784], 700, new float[128 * 784], 784, 0f, new float[64 * 128], 128));
        Assert.That(ex!.Message, Does.Contain("A is stored 64x784").And.Contain("lda must be at least 784, got 700"));
        Assert.That(ex.ParamName, Is.EqualTo("lda"));
    }

    [Test]
    public void Gemm_SpanTooShort_NamesShapesAndLength()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            CpuGemm.Gemm(true, false, 10, 784, 64, 1f, new float[64 * 10], 10, new float[64 * 784], 784, 1f, new float[10 * 784 - 1], 784));
        Assert.That(ex!.Message, Does.Contain("C is stored 10x784").And.Contain("needs 7840 elements, but span c has 7839"));
        ex = Assert.Throws<ArgumentException>(() =>
            CpuGemm.Gemm(false, true, 2, 3, 4, 1.0, new double[8], 4, new double[11], 4, 0.0, new double[6], 3));
        Assert.That(ex!.Message, Does.Contain("B is stored 3x4 (n x k)").And.Contain("span b has 11"));
    }

    [Test]
    public void Gemm_NegativeSize_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            CpuGemm.Gemm(false, false, 2, -1, 3, 1f, new float[6], 3, new float[3], 1, 0f, new float[2], 1));
        Assert.That(ex!.Message, Does.Contain("m=2, n=-1, k=3"));
    }

    private static void CheckAgainstReference<T>(bool ta, bool tb, int m, int n, int k, T alpha, T beta, int extraLd, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (a, b, c0) = RandomOperands<T>(ta, tb, m, n, k, extraLd, new Random(Seed));
        int lda = (ta ? m : k) + extraLd, ldb = (tb ? k : n) + extraLd, ldc = n + extraLd;
        T[] expected = (T[])c0.Clone(), actual = (T[])c0.Clone();
        if (beta == T.Zero)
            Array.Fill(actual, T.NaN); // beta = 0 must overwrite, never read, C
        ReferenceBackend<T>.GemmLoops(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        CpuGemm.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc);
        AssertClose(ta, tb, m, n, k, alpha, beta, a, lda, b, ldb, c0, expected, actual, ldc, tol);
    }

    private static unsafe void CheckWithLane<T, TLane>(bool ta, bool tb, int m, int n, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        if (!TLane.IsAccelerated)
            return;
        var (a, b, c0) = RandomOperands<T>(ta, tb, m, n, k, 1, new Random(Seed));
        int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 1, ldc = n + 1;
        T[] expected = (T[])c0.Clone(), actual = (T[])c0.Clone();
        T beta = T.CreateChecked(0.75);
        ReferenceBackend<T>.GemmLoops(ta, tb, m, n, k, T.One, a, lda, b, ldb, beta, expected, ldc);
        fixed (T* pa = a, pb = b, pc = actual)
            CpuGemmParallel.Run<T, TLane>(new GemmProblem<T>(ta, tb, m, n, k, T.One, pa, lda, pb, ldb, beta, pc, ldc));
        double tol = typeof(T) == typeof(float) ? 1e-5 : 1e-13;
        AssertClose(ta, tb, m, n, k, T.One, beta, a, lda, b, ldb, c0, expected, actual, ldc, tol, typeof(TLane).Name);
    }

    private static unsafe void RunSerial(bool ta, bool tb, int m, int n, int k, float[] a, float[] b, float[] c)
    {
        fixed (float* pa = a, pb = b, pc = c)
        {
            var g = new GemmProblem<float>(ta, tb, m, n, k, 1f, pa, ta ? m : k, pb, tb ? k : n, 1f, pc, n);
            if (Lane512<float>.IsAccelerated)
                CpuGemmParallel.RunSerial<float, Lane512<float>>(g);
            else if (Lane256<float>.IsAccelerated)
                CpuGemmParallel.RunSerial<float, Lane256<float>>(g);
            else
                CpuGemmParallel.RunSerial<float, Lane128<float>>(g);
        }
    }

    private static (T[] A, T[] B, T[] C) RandomOperands<T>(bool ta, bool tb, int m, int n, int k, int extraLd, Random rng)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TestContext.Out.WriteLine($"seed {Seed}, {(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')} m={m} n={n} k={k}, ld padding {extraLd}");
        T[] Fill(int rows, int cols)
        {
            // Padding between rows holds NaN: reading it would poison the result.
            var x = new T[Math.Max(0, (rows - 1) * (cols + extraLd) + cols)];
            for (int i = 0; i < x.Length; i++)
                x[i] = i % (cols + extraLd) < cols ? T.CreateChecked(rng.NextDouble() * 2 - 1) : T.NaN;
            return x;
        }
        return (Fill(ta ? k : m, ta ? m : k), Fill(tb ? n : k, tb ? k : n), Fill(m, n));
    }

    private static void AssertClose<T>(bool ta, bool tb, int m, int n, int k, T alpha, T beta,
        T[] a, int lda, T[] b, int ldb, T[] c0, T[] expected, T[] actual, int ldc, double tol, string what = "")
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // sum_p |op(A)[i,p] op(B)[p,j]| is itself a GEMM, of the absolute values (its own rounding is harmless here).
        double[] absA = Array.ConvertAll(a, x => Math.Abs(double.CreateChecked(x)));
        double[] absB = Array.ConvertAll(b, x => Math.Abs(double.CreateChecked(x)));
        double[] sumAbs = new double[expected.Length];
        if (k > 0)
            CpuGemm.Gemm(ta, tb, m, n, k, 1.0, absA, lda, absB, ldb, 0.0, sumAbs, ldc);
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double scale = Math.Abs(double.CreateChecked(alpha)) * sumAbs[i * ldc + j]
                    + Math.Abs(double.CreateChecked(beta * c0[i * ldc + j]));
                double err = Math.Abs(double.CreateChecked(actual[i * ldc + j] - expected[i * ldc + j]));
                worst = Math.Max(worst, err / (scale + 1e-30));
                if (!(err <= tol * scale + 1e-30))
                    Assert.Fail($"{what} C[{i},{j}] = {actual[i * ldc + j]}, reference {expected[i * ldc + j]}, |diff| {err:E3} > {tol:E0} * {scale:E3}");
            }
        TestContext.Out.WriteLine($"{what} worst |diff| / sum|a||b| = {worst:E3} (tolerance {tol:E0})");
    }
}
