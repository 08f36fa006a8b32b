namespace CudaNn;

/// <summary>
/// The arithmetic of a GPU's float32 GEMMs (<c>CudaDevice.Precision</c>): the inputs as stored, or rounded for tensor
/// cores. Accumulation, outputs, every other operation, the weights and the optimizer's moments stay float32, and the
/// emulator rounds the inputs the same way.
/// </summary>
public enum Precision
{
    /// <summary>Full float32 (cuBLAS's default math): the reference backend's results to float32 rounding.</summary>
    FP32,

    /// <summary>TF32 tensor cores (compute capability 8.0+, CUBLAS_TF32_TENSOR_OP_MATH): inputs rounded to 10 mantissa bits (2⁻¹¹ relative).</summary>
    TF32,

    /// <summary>BF16 tensor cores (compute capability 8.0+, cublasGemmEx with CUBLAS_COMPUTE_32F_FAST_16BF): inputs rounded to 7 mantissa bits (2⁻⁸).</summary>
    BF16,
}
