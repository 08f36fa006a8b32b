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
            GemmReference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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
