namespace CudaNn.Cuda;

/// <summary>Whether a GEMM operand is used as stored or transposed (the values of cublasOperation_t).</summary>
internal enum GemmOp
{
    /// <summary>op(X) = X (CUBLAS_OP_N).</summary>
    None = 0,

    /// <summary>op(X) = Xᵀ (CUBLAS_OP_T).</summary>
    Transpose = 1,
}

/// <summary>
/// What a GEMM does to its result before storing it (cuBLASLt's epilogues), in cuBLAS's column-major terms: C is m×n,
/// r = alpha·op(A)·op(B) + beta·C is the plain result. A ReLU mask is one bit per element of C, column j's bits starting at
/// bit j·maskLd of the mask (maskLd a multiple of 128), set where the forward's result was positive.
/// </summary>
internal enum GemmEpilogue
{
    /// <summary>C = r.</summary>
    None,

    /// <summary>C = r + bias[i] in every column (bias: m elements).</summary>
    Bias,

    /// <summary>C = max(r + bias[i], 0), and the mask records where r + bias[i] &gt; 0 (CUBLASLT_EPILOGUE_RELU_AUX_BIAS).</summary>
    ReluBias,

    /// <summary>
    /// ReLU's backward, then the bias gradient of the layer below: C = r where the mask is set, else 0, and bias[i] = the sum
    /// over j of C[i, j], written, not added (CUBLASLT_EPILOGUE_DRELU_BGRAD).
    /// </summary>
    ReluBackwardBiasGrad,

    /// <summary>C = r, and bias[j] = the sum over p of op(B)[p, j], written, not added: a weight gradient's GEMM that also gives the bias gradient (CUBLASLT_EPILOGUE_BGRADB).</summary>
    BiasGradFromB,
}

/// <summary>
/// Argument checks shared by every Sgemm implementation, so the real device and the emulator reject the
/// same calls with the same message. Shapes are cuBLAS's, column-major: op(A) is m×k, op(B) is k×n, C is m×n.
/// </summary>
internal static class GemmArguments
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

/// <summary>The checks of an epilogue's own operands, shared by the GPU and the emulator like <see cref="GemmArguments"/>.</summary>
internal static class GemmEpilogueArguments
{
    /// <summary>Whether <paramref name="epilogue"/> reads or writes a ReLU mask.</summary>
    public static bool UsesReluMask(GemmEpilogue epilogue) => epilogue is GemmEpilogue.ReluBias or GemmEpilogue.ReluBackwardBiasGrad;

    /// <summary>Throws <see cref="ArgumentException"/> naming the operand the epilogue needs and lacks, or a mask leading dimension cuBLASLt refuses.</summary>
    public static void Validate(GemmEpilogue epilogue, int m, int n, DevicePtr bias, DevicePtr reluMask, int reluMaskLd)
    {
        if (!Enum.IsDefined(epilogue))
            throw new ArgumentException($"Unknown GEMM epilogue ({(int)epilogue}).", nameof(epilogue));
        if (epilogue != GemmEpilogue.None && bias.IsNull)
            throw new ArgumentException($"The {epilogue} epilogue needs a bias vector.", nameof(bias));
        if (!UsesReluMask(epilogue))
            return;
        if (reluMask.IsNull)
            throw new ArgumentException($"The {epilogue} epilogue needs a ReLU mask.", nameof(reluMask));
        if (reluMaskLd < m || reluMaskLd % 128 != 0)
            throw new ArgumentException($"reluMaskLd={reluMaskLd} must be a multiple of 128 no less than m={m} (bits per column of the ReLU mask).", nameof(reluMaskLd));
    }

    /// <summary>The mask's leading dimension for m rows: m rounded up to a multiple of 128 bits.</summary>
    public static int ReluMaskLd(int m) => checked((m + 127) / 128 * 128);
}
