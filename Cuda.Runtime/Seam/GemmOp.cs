namespace CudaNn.Cuda;

/// <summary>Whether a GEMM operand is used as stored or transposed (the values of cublasOperation_t).</summary>
public enum GemmOp
{
    /// <summary>op(X) = X (CUBLAS_OP_N).</summary>
    None = 0,

    /// <summary>op(X) = Xᵀ (CUBLAS_OP_T).</summary>
    Transpose = 1,
}

/// <summary>
/// The arithmetic of a float GEMM: the inputs as stored, or down-converted for tensor cores; accumulation is float in
/// every case. TF32 keeps 10 mantissa bits (relative rounding 2⁻¹¹), BF16 keeps 7 (2⁻⁸).
/// </summary>
public enum GemmPrecision
{
    /// <summary>Float inputs (cuBLAS's default math).</summary>
    Fp32,

    /// <summary>Inputs rounded to TF32 (CUBLAS_TF32_TENSOR_OP_MATH).</summary>
    Tf32,

    /// <summary>Inputs rounded to bfloat16 (cublasGemmEx with CUBLAS_COMPUTE_32F_FAST_16BF).</summary>
    Bf16,
}

/// <summary>
/// Argument checks shared by every Sgemm implementation, so the real device and the emulator reject the
/// same calls with the same message. Shapes are cuBLAS's, column-major: op(A) is m×k, op(B) is k×n, C is m×n.
/// </summary>
public static class GemmArguments
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first size or leading dimension cuBLAS would reject.</summary>
    public static void Validate(GemmOp transA, GemmOp transB, int m, int n, int k, int lda, int ldb, int ldc)
    {
        if (!Enum.IsDefined(transA) || !Enum.IsDefined(transB))
            throw new ArgumentException($"Unknown transpose option ({transA}, {transB}).");
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"GEMM sizes must not be negative (m={m}, n={n}, k={k}).");
        // Column-major storage: A is stored m×k (lda ≥ m) as is, or k×m (lda ≥ k) when transposed.
        int aRows = transA == GemmOp.None ? m : k;
        int bRows = transB == GemmOp.None ? k : n;
        if (lda < Math.Max(1, aRows))
            throw new ArgumentException($"lda={lda} is less than the {aRows} rows A is stored with (transA={transA}, m={m}, k={k}).", nameof(lda));
        if (ldb < Math.Max(1, bRows))
            throw new ArgumentException($"ldb={ldb} is less than the {bRows} rows B is stored with (transB={transB}, k={k}, n={n}).", nameof(ldb));
        if (ldc < Math.Max(1, m))
            throw new ArgumentException($"ldc={ldc} is less than the {m} rows of C (m={m}).", nameof(ldc));
    }
}
