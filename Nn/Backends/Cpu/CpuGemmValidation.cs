namespace CudaNn.Backends.Cpu;

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
