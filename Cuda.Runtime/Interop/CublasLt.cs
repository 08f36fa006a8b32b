using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

#pragma warning disable CA1707 // C names kept on purpose
/// <summary>cudaDataType_t from library_types.h; only float is used here.</summary>
internal enum CudaDataType
{
    CUDA_R_32F = 0,
}

/// <summary>
/// cublasLtMatmulDescAttributes_t, values from cublasLt.h of CUDA 12.6 (the same in CUDA 11's header). BIAS_DATA_TYPE
/// (a later addition) is not needed: unset, the bias has D's type, float here.
/// </summary>
internal enum CublasLtMatmulDescAttribute
{
    /// <summary>int32_t, a cublasComputeType_t.</summary>
    CUBLASLT_MATMUL_DESC_COMPUTE_TYPE = 0,

    /// <summary>int32_t, a cudaDataType_t.</summary>
    CUBLASLT_MATMUL_DESC_SCALE_TYPE = 1,

    /// <summary>int32_t, a cublasOperation_t.</summary>
    CUBLASLT_MATMUL_DESC_TRANSA = 3,

    /// <summary>int32_t, a cublasOperation_t.</summary>
    CUBLASLT_MATMUL_DESC_TRANSB = 4,

    /// <summary>uint32_t, a cublasLtEpilogue_t.</summary>
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,

    /// <summary>A device pointer (8 bytes): the bias read, or the bias gradient written.</summary>
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,

    /// <summary>A device pointer (8 bytes): the ReLU bit mask written by the forward epilogues, read by DRELU.</summary>
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER = 11,

    /// <summary>int64_t: the mask's leading dimension in bits, a multiple of 128 no less than D's rows.</summary>
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD = 12,
}

/// <summary>cublasLtEpilogue_t (set as a uint32_t). The combined values are the header's ORs spelled out.</summary>
internal enum CublasLtEpilogue
{
    CUBLASLT_EPILOGUE_DEFAULT = 1,
    CUBLASLT_EPILOGUE_RELU = 2,
    CUBLASLT_EPILOGUE_BIAS = 4,
    CUBLASLT_EPILOGUE_RELU_BIAS = 6,
    CUBLASLT_EPILOGUE_RELU_AUX = 130,
    CUBLASLT_EPILOGUE_RELU_AUX_BIAS = 134,
    CUBLASLT_EPILOGUE_DRELU = 136,
    CUBLASLT_EPILOGUE_DRELU_BGRAD = 152,
    CUBLASLT_EPILOGUE_BGRADA = 256,
    CUBLASLT_EPILOGUE_BGRADB = 512,
}

/// <summary>cublasLtMatmulPreferenceAttributes_t: the workspace limit (uint64_t) and the operands' alignments (uint32_t bytes).</summary>
internal enum CublasLtMatmulPreferenceAttribute
{
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
}
#pragma warning restore CA1707

/// <summary>cublasLtMatmulAlgo_t: 64 opaque bytes (uint64_t data[8]) that cublasLtMatmul reads back as given.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CublasLtMatmulAlgo
{
    public fixed ulong Data[8];
}

/// <summary>
/// cublasLtMatmulHeuristicResult_t, 96 bytes: algo at 0, workspaceSize (size_t) at 64, state at 72, wavesCount at 76,
/// int reserved[4] at 80.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CublasLtMatmulHeuristicResult
{
#pragma warning disable CS0649 // written by cublasLtMatmulAlgoGetHeuristic only
    public CublasLtMatmulAlgo Algo;
    public nuint WorkspaceSize;
    public CublasStatus State;
    public float WavesCount;
    public fixed int Reserved[4];
#pragma warning restore CS0649
}

/// <summary>
/// cuBLASLt (libcublasLt.so.13 / .12 / .11; the very file libcublas loaded, see <see cref="LibraryNames.CublasLt"/>).
/// Signatures follow cublasLt.h of CUDA 12.6; every name is exported unchanged by CUDA 11.8's library too. Handles and
/// descriptors (cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t, cublasLtMatmulPreference_t) and
/// cudaStream_t are nint; alpha and beta are host floats (the default pointer mode); a status of
/// <see cref="CublasStatus"/> as in cuBLAS.
/// </summary>
internal static unsafe partial class CublasLt
{
    static CublasLt() => NativeLibraryResolver.EnsureInstalled();

    [LibraryImport(LibraryNames.CublasLt)] public static partial CublasStatus cublasLtCreate(out nint handle);
    [LibraryImport(LibraryNames.CublasLt)] public static partial CublasStatus cublasLtDestroy(nint handle);
    [LibraryImport(LibraryNames.CublasLt)] public static partial nuint cublasLtGetVersion();

    [LibraryImport(LibraryNames.CublasLt)]
    public static partial CublasStatus cublasLtMatmulDescCreate(out nint matmulDesc, CublasComputeType computeType, CudaDataType scaleType);

    [LibraryImport(LibraryNames.CublasLt)] public static partial CublasStatus cublasLtMatmulDescDestroy(nint matmulDesc);

    [LibraryImport(LibraryNames.CublasLt)]
    public static partial CublasStatus cublasLtMatmulDescSetAttribute(nint matmulDesc, CublasLtMatmulDescAttribute attribute,
        void* value, nuint sizeInBytes);

    [LibraryImport(LibraryNames.CublasLt)]
    public static partial CublasStatus cublasLtMatrixLayoutCreate(out nint layout, CudaDataType type, ulong rows, ulong cols, long ld);

    [LibraryImport(LibraryNames.CublasLt)] public static partial CublasStatus cublasLtMatrixLayoutDestroy(nint layout);

    [LibraryImport(LibraryNames.CublasLt)] public static partial CublasStatus cublasLtMatmulPreferenceCreate(out nint preference);
    [LibraryImport(LibraryNames.CublasLt)] public static partial CublasStatus cublasLtMatmulPreferenceDestroy(nint preference);

    [LibraryImport(LibraryNames.CublasLt)]
    public static partial CublasStatus cublasLtMatmulPreferenceSetAttribute(nint preference, CublasLtMatmulPreferenceAttribute attribute,
        void* value, nuint sizeInBytes);

    /// <summary>Fills up to <paramref name="requestedAlgoCount"/> results, fastest first; each result's State says whether it is usable.</summary>
    [LibraryImport(LibraryNames.CublasLt)]
    public static partial CublasStatus cublasLtMatmulAlgoGetHeuristic(nint handle, nint operationDesc, nint aDesc, nint bDesc, nint cDesc,
        nint dDesc, nint preference, int requestedAlgoCount, CublasLtMatmulHeuristicResult* results, out int returnAlgoCount);

    /// <summary>D = epilogue(alpha·op(A)·op(B) + beta·C); A, B, C and D are device addresses.</summary>
    [LibraryImport(LibraryNames.CublasLt)]
    public static partial CublasStatus cublasLtMatmul(nint handle, nint computeDesc, float* alpha, ulong a, nint aDesc, ulong b, nint bDesc,
        float* beta, ulong c, nint cDesc, ulong d, nint dDesc, CublasLtMatmulAlgo* algo, ulong workspace, nuint workspaceSizeInBytes,
        nint stream);
}
