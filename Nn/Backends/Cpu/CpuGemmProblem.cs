using System.Numerics;

namespace CudaNn.Backends.Cpu;

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
