namespace CudaNn.Cuda.Interop;

/// <summary>
/// Logical names used by every <c>[LibraryImport]</c> in CudaNn. They match no real file on purpose:
/// <see cref="NativeLibraryResolver"/> maps each one to the versioned library it finds.
/// </summary>
internal static class LibraryNames
{
    public const string Driver = "cudann-cuda-driver";
    public const string Nvrtc = "cudann-nvrtc";
    public const string Cublas = "cudann-cublas";
    public const string CublasLt = "cudann-cublaslt";
    public const string Nccl = "cudann-nccl";
    public const string Mpi = "cudann-mpi";

    /// <summary>What to look for, per logical name, newest version first.</summary>
    public static readonly IReadOnlyList<NativeLibrarySpec> All =
    [
        new(Driver, "CUDANN_CUDA_DRIVER_PATH", ["libcuda.so.1"], SearchToolkitFolders: false, CompanionPattern: null),
        new(Nvrtc, "CUDANN_NVRTC_PATH", ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"],
            SearchToolkitFolders: true, CompanionPattern: "libnvrtc-builtins.so.{major}*", LimitedByDriver: true),
        new(Cublas, "CUDANN_CUBLAS_PATH", ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11"],
            SearchToolkitFolders: true, CompanionPattern: "libcublasLt.so.{major}", LimitedByDriver: true),
        // Its own search (and CUDANN_CUBLASLT_PATH) serves only where cuBLAS does not load; otherwise it is cuBLAS's libcublasLt.
        new(CublasLt, "CUDANN_CUBLASLT_PATH", ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"],
            SearchToolkitFolders: true, CompanionPattern: null, LimitedByDriver: true, CompanionOf: Cublas),
        new(Nccl, "CUDANN_NCCL_PATH", ["libnccl.so.2"], SearchToolkitFolders: true, CompanionPattern: null),
        // MPICH's libmpi.so.12 is looked for too, only to say clearly that its integer handles are not Open MPI's.
        new(Mpi, "CUDANN_MPI_PATH", ["libmpi.so.40", "libmpi.so.12"], SearchToolkitFolders: false, CompanionPattern: null),
    ];

    public static NativeLibrarySpec Spec(string logicalName) =>
        All.FirstOrDefault(s => s.LogicalName == logicalName)
        ?? throw new ArgumentException($"'{logicalName}' is not a CudaNn native library name.", nameof(logicalName));
}

/// <summary>
/// How to find one native library.
/// <paramref name="CompanionPattern"/> names a sibling that must be loaded first from the same folder
/// (libcublasLt for libcublas, the NVRTC builtins for NVRTC), because CudaNn never edits LD_LIBRARY_PATH
/// and the library's own dependency lookup would otherwise not see that folder. "{major}" is replaced
/// by the major version taken from the file name. <paramref name="LimitedByDriver"/> skips files of a newer CUDA major
/// than the driver's: NVRTC 13's output and cuBLAS 13 need a CUDA 13 driver (an explicit override is still honoured).
/// <paramref name="CompanionOf"/> names the library that loads this one as its companion: once that one is loaded, this
/// name resolves to the copy it brought in (of its major version), as a second copy of the same library in one process
/// would keep state of its own.
/// </summary>
internal sealed record NativeLibrarySpec(
    string LogicalName,
    string OverrideVariable,
    IReadOnlyList<string> FileNames,
    bool SearchToolkitFolders,
    string? CompanionPattern,
    bool LimitedByDriver = false,
    string? CompanionOf = null)
{
    /// <summary>The file name users recognise, for messages: "libnvrtc.so".</summary>
    public string DisplayName => FileNames[0][..(FileNames[0].IndexOf(".so", StringComparison.Ordinal) + 3)];
}
