using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

#pragma warning disable CA1707 // C names kept on purpose
/// <summary>cublasStatus_t, values from cublas_api.h of CUDA 12.6 (unchanged since 11.0).</summary>
internal enum CublasStatus
{
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16,
}

/// <summary>cublasOperation_t.</summary>
internal enum CublasOperation
{
    CUBLAS_OP_N = 0,
    CUBLAS_OP_T = 1,
    CUBLAS_OP_C = 2,
}

/// <summary>cublasMath_t (flags; the low bits select the mode).</summary>
internal enum CublasMath
{
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
    CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
}

/// <summary>cublasComputeType_t: how cublasGemmEx computes (FP32 data, FP32 accumulation, inputs down-converted or not).</summary>
internal enum CublasComputeType
{
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
}

/// <summary>libraryPropertyType from library_types.h.</summary>
internal enum LibraryProperty
{
    MAJOR_VERSION = 0,
    MINOR_VERSION = 1,
    PATCH_LEVEL = 2,
}
#pragma warning restore CA1707

/// <summary>
/// cuBLAS (libcublas.so.13 / .12 / .11, loaded after its libcublasLt). Signatures follow cublas_api.h of
/// CUDA 12.6, using the exported <c>_v2</c> names that cublas_v2.h maps the plain names to. Matrices are
/// column-major; alpha and beta are host pointers (the default pointer mode). cublasHandle_t and
/// cudaStream_t (the same object as a driver CUstream) are nint. A cuBLASLt block can sit beside this one.
/// </summary>
internal static unsafe partial class Cublas
{
    static Cublas() => NativeLibraryResolver.EnsureInstalled();

    [LibraryImport(LibraryNames.Cublas)] public static partial CublasStatus cublasGetProperty(LibraryProperty type, out int value);
    [LibraryImport(LibraryNames.Cublas)] public static partial byte* cublasGetStatusName(CublasStatus status);
    [LibraryImport(LibraryNames.Cublas)] public static partial byte* cublasGetStatusString(CublasStatus status);

    [LibraryImport(LibraryNames.Cublas)] public static partial CublasStatus cublasCreate_v2(out nint handle);
    [LibraryImport(LibraryNames.Cublas)] public static partial CublasStatus cublasDestroy_v2(nint handle);
    [LibraryImport(LibraryNames.Cublas)] public static partial CublasStatus cublasGetVersion_v2(nint handle, out int version);
    [LibraryImport(LibraryNames.Cublas)] public static partial CublasStatus cublasSetStream_v2(nint handle, nint stream);
    [LibraryImport(LibraryNames.Cublas)] public static partial CublasStatus cublasSetWorkspace_v2(nint handle, ulong workspace, nuint workspaceSizeInBytes);
    [LibraryImport(LibraryNames.Cublas)] public static partial CublasStatus cublasSetMathMode(nint handle, CublasMath mode);

    [LibraryImport(LibraryNames.Cublas)]
    public static partial CublasStatus cublasSgemm_v2(nint handle, CublasOperation transa, CublasOperation transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);

    /// <summary>cublasGemmEx with A, B and C float (CUDA_R_32F = 0) and the default algorithm (CUBLAS_GEMM_DEFAULT = -1) passed by the caller.</summary>
    [LibraryImport(LibraryNames.Cublas)]
    public static partial CublasStatus cublasGemmEx(nint handle, CublasOperation transa, CublasOperation transb, int m, int n, int k,
        float* alpha, ulong a, int aType, int lda, ulong b, int bType, int ldb, float* beta, ulong c, int cType, int ldc,
        CublasComputeType computeType, int algo);
}
