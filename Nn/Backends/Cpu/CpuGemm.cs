using System.Numerics;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// Row-major general matrix multiply on the CPU, with BLAS semantics:
/// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C[m,n], where op(X) is X or X^T.
/// Leading dimensions are row strides. beta = 0 overwrites C without reading it (NaN in C is discarded);
/// beta = 1 accumulates, as gradient accumulation needs.
/// </summary>
internal static partial class CpuGemm
{
    /// <summary>
    /// C = alpha * op(A) * op(B) + beta * C, cache-blocked, SIMD and multi-threaded for large problems.
    /// A is stored [m,k] (or [k,m] when <paramref name="transA"/>), B is stored [k,n] (or [n,k] when
    /// <paramref name="transB"/>), C is [m,n]; rows are <c>lda</c>, <c>ldb</c>, <c>ldc</c> elements apart.
    /// Results are bit-identical from run to run: the order of the k reduction depends only on the shapes.
    /// </summary>
    /// <exception cref="ArgumentException">A size, leading dimension or span length does not fit the shapes.</exception>
    public static void Gemm<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0)
            return;
        if (k == 0 || alpha == T.Zero)
        {
            ScaleRows(m, n, beta, c, ldc);
            return;
        }
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            // Other IEEE types (Half, NFloat) have no SIMD kernel; the plain loop is still correct.
            Reference.ReferenceBackend<T>.GemmLoops(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        unsafe
        {
            fixed (T* pa = a)
            fixed (T* pb = b)
            fixed (T* pc = c)
            {
                var problem = new GemmProblem<T>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
                CpuGemmParallel.Run(problem);
            }
        }
    }

    /// <summary>C = beta * C, where beta = 0 writes zeros (BLAS leaves no NaN from C behind).</summary>
    private static void ScaleRows<T>(int m, int n, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One)
            return;
        for (int i = 0; i < m; i++)
        {
            Span<T> row = c.Slice(i * ldc, n);
            if (beta == T.Zero)
                row.Clear();
            else
                for (int j = 0; j < n; j++)
                    row[j] *= beta;
        }
    }
}

/// <summary>
/// The arguments of one GEMM call after validation, as raw pointers so the work can be split across
/// threads (spans cannot be captured). Valid only while the caller keeps the buffers pinned.
/// </summary>
internal readonly unsafe struct GemmProblem<T>(bool transA, bool transB, int m, int n, int k,
    T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public readonly bool TransA = transA, TransB = transB;
    public readonly int M = m, N = n, K = k;
    public readonly T Alpha = alpha, Beta = beta;
    public readonly T* A = a, B = b, C = c;
    public readonly int Lda = lda, Ldb = ldb, Ldc = ldc;

    /// <summary>op(A)[i,p], the element the product reads at row i, reduction index p.</summary>
    public T* APtr(int i, int p) => TransA ? A + (long)p * Lda + i : A + (long)i * Lda + p;

    /// <summary>op(B)[p,j], the element the product reads at reduction index p, column j.</summary>
    public T* BPtr(int p, int j) => TransB ? B + (long)j * Ldb + p : B + (long)p * Ldb + j;

    /// <summary>The same product restricted to rows [i0, i0+rows) and columns [j0, j0+cols) of C.</summary>
    public GemmProblem<T> Block(int i0, int rows, int j0, int cols) =>
        new(TransA, TransB, rows, cols, K, Alpha, APtr(i0, 0), Lda, BPtr(0, j0), Ldb, Beta,
            C + (long)i0 * Ldc + j0, Ldc);
}

internal static partial class CpuGemm
{
    /// <summary>Checks sizes, leading dimensions and span lengths before any element is touched.</summary>
    private static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"Gemm sizes must be non-negative, got m={m}, n={n}, k={k}.");
        // Stored shapes: A is (m,k) or (k,m), B is (k,n) or (n,k), C is (m,n).
        CheckMatrix("A", transA ? "k x m" : "m x k", transA ? k : m, transA ? m : k, aLength, lda, "lda", "a");
        CheckMatrix("B", transB ? "n x k" : "k x n", transB ? n : k, transB ? k : n, bLength, ldb, "ldb", "b");
        CheckMatrix("C", "m x n", m, n, cLength, ldc, "ldc", "c");
    }

    private static void CheckMatrix(string name, string layout, int rows, int cols,
        int length, int ld, string ldName, string spanName)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException(
                $"Gemm: {name} is stored {rows}x{cols} ({layout}), so {ldName} must be at least {Math.Max(1, cols)}, got {ld}.",
                ldName);
        if (rows == 0 || cols == 0)
            return;
        long needed = (long)(rows - 1) * ld + cols;
        if (length < needed)
            throw new ArgumentException(
                $"Gemm: {name} is stored {rows}x{cols} ({layout}) with {ldName}={ld}, which needs {needed} elements, but span {spanName} has {length}.",
                spanName);
    }
}
