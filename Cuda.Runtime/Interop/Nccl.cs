using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

#pragma warning disable CA1707 // C names kept on purpose
/// <summary>ncclResult_t, values from nccl.h (NCCL 2.18 to 2.27; the newer headers add ncclTimeout).</summary>
internal enum NcclResult
{
    ncclSuccess = 0,
    ncclUnhandledCudaError = 1,
    ncclSystemError = 2,
    ncclInternalError = 3,
    ncclInvalidArgument = 4,
    ncclInvalidUsage = 5,
    ncclRemoteError = 6,
    ncclInProgress = 7,
    ncclTimeout = 8,
}

/// <summary>ncclDataType_t.</summary>
internal enum NcclDataType
{
    ncclInt32 = 2,
    ncclInt64 = 4,
    ncclFloat32 = 7,
    ncclFloat64 = 8,
}

/// <summary>ncclRedOp_t (ncclAvg since NCCL 2.10).</summary>
internal enum NcclRedOp
{
    ncclSum = 0,
    ncclProd = 1,
    ncclMax = 2,
    ncclMin = 3,
    ncclAvg = 4,
}
#pragma warning restore CA1707

/// <summary>ncclUniqueId: 128 opaque bytes that rank 0 makes and every rank passes to ncclCommInitRank.</summary>
[StructLayout(LayoutKind.Sequential, Size = Length)]
internal unsafe struct NcclUniqueId
{
    public const int Length = 128;
    public fixed byte Bytes[Length];
}

/// <summary>
/// NCCL (libnccl.so.2, from the CUDA stacks and NVIDIA's nvidia-nccl wheels). ncclComm_t and cudaStream_t (a driver
/// CUstream) are nint; buffers are device addresses. Collectives are enqueued on the stream and may be captured into a
/// CUDA graph.
/// </summary>
internal static unsafe partial class Nccl
{
    static Nccl() => NativeLibraryResolver.EnsureInstalled();

    [LibraryImport(LibraryNames.Nccl)] public static partial NcclResult ncclGetVersion(out int version);
    [LibraryImport(LibraryNames.Nccl)] public static partial byte* ncclGetErrorString(NcclResult result);
    [LibraryImport(LibraryNames.Nccl)] public static partial NcclResult ncclGetUniqueId(out NcclUniqueId uniqueId);
    [LibraryImport(LibraryNames.Nccl)] public static partial NcclResult ncclCommInitRank(out nint comm, int ranks, NcclUniqueId uniqueId, int rank);
    [LibraryImport(LibraryNames.Nccl)] public static partial NcclResult ncclCommDestroy(nint comm);
    [LibraryImport(LibraryNames.Nccl)] public static partial NcclResult ncclCommAbort(nint comm);
    [LibraryImport(LibraryNames.Nccl)] public static partial NcclResult ncclCommGetAsyncError(nint comm, out NcclResult asyncError);

    [LibraryImport(LibraryNames.Nccl)]
    public static partial NcclResult ncclAllReduce(ulong sendBuffer, ulong receiveBuffer, nuint count, NcclDataType datatype, NcclRedOp op, nint comm, nint stream);

    [LibraryImport(LibraryNames.Nccl)]
    public static partial NcclResult ncclBroadcast(ulong sendBuffer, ulong receiveBuffer, nuint count, NcclDataType datatype, int root, nint comm, nint stream);
}
