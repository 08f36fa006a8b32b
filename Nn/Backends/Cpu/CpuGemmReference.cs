using System.Numerics;

namespace CudaNn.Backends.Cpu;

internal static partial class CpuGemm
{
    /// <summary>
    /// The plain triple loop that defines <see cref="Gemm{T}"/>: same arguments, same semantics,
    /// no blocking, no SIMD, no threads. Kept as the reference the fast path is tested against.
    /// </summary>
    public static void GemmReference<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        // c is (m,n); op(a) is (m,k): a is (m,k) or, transposed, (k,m); op(b) is (k,n): b is (k,n) or (n,k).
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T aip = transA ? a[p * lda + i] : a[i * lda + p];
                    T bpj = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += aip * bpj;
                }
                ref T cij = ref c[i * ldc + j];
                // beta == 0 must not read C: 0 * NaN would keep the NaN.
                cij = beta == T.Zero ? alpha * sum : alpha * sum + beta * cij;
            }
        }
    }
}
