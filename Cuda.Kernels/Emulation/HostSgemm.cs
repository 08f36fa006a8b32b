using CudaNn.Cuda;

namespace CudaNn.Kernels.Emulation;

/// <summary>
/// cuBLAS Sgemm on the host, column-major: C = alpha·op(A)·op(B) + beta·C with op(A) m×k, op(B) k×n, C m×n,
/// element (i, j) of a matrix X with leading dimension ldx at x[i + j·ldx]. Each C[i,j] accumulates in float,
/// in increasing k order, with fused multiply-adds: the plain order cuBLAS refines with blocking, so results agree
/// with a GPU to the FP32 rounding bound for length k (~k·2⁻²⁴·Σ|terms|), not bitwise. In TF32 or BF16 precision every
/// element of A and B is first rounded (<see cref="Round"/>), as tensor cores take them, and the products still
/// accumulate in FP32.
/// </summary>
internal static unsafe class HostSgemm
{
    /// <summary>Computes one GEMM; the caller has validated the sizes and checked that every operand is in bounds.</summary>
    public static void Run(GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, Precision precision = Precision.FP32)
    {
        if (m == 0 || n == 0)
            return;
        if (alpha == 0 || k == 0)
        {
            // cuBLAS reads neither A nor B here; with beta = 0 it writes zeros without reading C.
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++)
                    c[i + (long)j * ldc] = beta == 0 ? 0f : beta * c[i + (long)j * ldc];
            return;
        }

        // op(A) row by row and op(B) column by column, contiguous, so the dot products stream through memory.
        float[] rows = new float[(long)m * k];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
                rows[(long)i * k + p] = Round(transA == GemmOp.None ? a[i + (long)p * lda] : a[p + (long)i * lda], precision);
        float[] column = new float[k];
        for (int j = 0; j < n; j++)
        {
            for (int p = 0; p < k; p++)
                column[p] = Round(transB == GemmOp.None ? b[p + (long)j * ldb] : b[j + (long)p * ldb], precision);
            for (int i = 0; i < m; i++)
            {
                float sum = 0f;
                ReadOnlySpan<float> row = rows.AsSpan((int)((long)i * k), k);
                for (int p = 0; p < k; p++)
                    sum = MathF.FusedMultiplyAdd(row[p], column[p], sum);
                float* cij = c + i + (long)j * ldc;
                *cij = beta == 0 ? alpha * sum : MathF.FusedMultiplyAdd(beta, *cij, alpha * sum);
            }
        }
    }

    /// <summary>
    /// The epilogue of a GEMM that <see cref="Run"/> has just stored in C (m×n, leading dimension ldc), as cuBLASLt applies
    /// it before storing (<see cref="GemmEpilogue"/>): the bias added in float after the product's rounding, the ReLU mask
    /// one bit per element (element (i, j) at bit i + j·maskLd, least significant bit first), sums in increasing order.
    /// For <see cref="GemmEpilogue.BiasGradFromB"/>, op(B) is read again from b.
    /// </summary>
    public static void ApplyEpilogue(GemmEpilogue epilogue, int m, int n, int k, GemmOp transB, float* b, int ldb, float* c, int ldc,
        float* bias, byte* mask, int maskLd)
    {
        switch (epilogue)
        {
            case GemmEpilogue.Bias:
            case GemmEpilogue.ReluBias:
                for (int j = 0; j < n; j++)
                    for (int i = 0; i < m; i++)
                    {
                        float* cij = c + i + (long)j * ldc;
                        float v = *cij + bias[i];
                        if (epilogue == GemmEpilogue.ReluBias)
                        {
                            long bit = i + (long)j * maskLd;
                            // At exactly 0 the bit is clear and the gradient 0, as PyTorch's ReLU backward has it;
                            // cuBLASLt may set it there (CUTLASS's ReLU-aux epilogue writes z >= 0), so tests avoid 0.
                            bool positive = v > 0;
                            if (positive) mask[bit >> 3] |= (byte)(1 << (int)(bit & 7));
                            else mask[bit >> 3] &= (byte)~(1 << (int)(bit & 7));
                            v = positive ? v : 0f;
                        }
                        *cij = v;
                    }
                break;
            case GemmEpilogue.ReluBackwardBiasGrad:
                for (int i = 0; i < m; i++)
                {
                    float sum = 0f;
                    for (int j = 0; j < n; j++)
                    {
                        float* cij = c + i + (long)j * ldc;
                        long bit = i + (long)j * maskLd;
                        if ((mask[bit >> 3] & (1 << (int)(bit & 7))) == 0) *cij = 0f;
                        sum += *cij;
                    }
                    bias[i] = sum;
                }
                break;
            case GemmEpilogue.BiasGradFromB:
                for (int j = 0; j < n; j++)
                {
                    float sum = 0f;
                    for (int p = 0; p < k; p++)
                        sum += transB == GemmOp.None ? b[p + (long)j * ldb] : b[j + (long)p * ldb];
                    bias[j] = sum;
                }
                break;
        }
    }

    /// <summary>A GEMM input as a tensor core of <paramref name="precision"/> takes it.</summary>
    public static float Round(float value, Precision precision) => precision switch
    {
        Precision.TF32 => RoundToTf32(value),
        Precision.BF16 => RoundToBf16(value),
        _ => value,
    };

    /// <summary>
    /// <paramref name="value"/> with its mantissa rounded from 23 bits to TF32's 10, to nearest with ties away from zero
    /// (PTX's cvt.rna.tf32.f32); infinities and NaN are kept. Relative error at most 2⁻¹¹.
    /// </summary>
    public static float RoundToTf32(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7F800000u) == 0x7F800000u) return value;
        return BitConverter.UInt32BitsToSingle((bits + 0x1000u) & 0xFFFFE000u);
    }

    /// <summary>
    /// <paramref name="value"/> rounded to bfloat16's 7 mantissa bits, to nearest with ties to even (__float2bfloat16_rn);
    /// infinities kept, NaN kept a NaN. Relative error at most 2⁻⁸. cuBLAS's FAST_16BF may take TF32 instead, which is closer.
    /// </summary>
    public static float RoundToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7F800000u) == 0x7F800000u) return value;
        return BitConverter.UInt32BitsToSingle((bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u);
    }

    /// <summary>Bytes a column-major matrix of <paramref name="rows"/>×<paramref name="columns"/> spans with leading dimension <paramref name="ld"/>.</summary>
    public static long Extent(int rows, int columns, int ld) =>
        rows == 0 || columns == 0 ? 0 : ((long)(columns - 1) * ld + rows) * sizeof(float);
}
