using System.Runtime.InteropServices;
using CudaNn.Cuda;
using CudaNn.Cuda.Interop;

namespace CudaNn.Distributed;

/// <summary>
/// An NCCL communicator: one rank of a group of GPUs (one GPU per rank) that all-reduces and broadcasts device buffers
/// on a CUDA stream. The collectives are enqueued like kernels and can be captured into a CUDA graph, so a
/// data-parallel training step still replays as one graph launch. Rank 0 makes the group's id
/// (<see cref="CreateUniqueId"/>) and the launcher's channel (MPI) carries it to the others.
/// </summary>
internal sealed unsafe class NcclCommunicator : IDisposable
{
    private nint _comm;

    /// <summary>Joins the group <paramref name="uniqueId"/> names as rank <paramref name="rank"/> of <paramref name="size"/>, on the CUDA context current on this thread.</summary>
    public NcclCommunicator(int rank, int size, ReadOnlySpan<byte> uniqueId)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "an NCCL group has at least one rank");
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"a rank of {size}");
        if (uniqueId.Length != NcclUniqueId.Length)
            throw new ArgumentException($"an NCCL unique id is {NcclUniqueId.Length} bytes, not {uniqueId.Length}", nameof(uniqueId));
        RequireLoaded();
        NcclUniqueId id = default;
        uniqueId.CopyTo(new Span<byte>(id.Bytes, NcclUniqueId.Length));
        Check(Nccl.ncclCommInitRank(out _comm, size, id, rank), "ncclCommInitRank",
            size > 1 ? " (NCCL needs a GPU of its own for each rank)" : "");
        (Rank, Size) = (rank, size);
    }

    /// <summary>Where libnccl was loaded from, or why not; needs no GPU.</summary>
    public static NativeLibraryStatus LibraryStatus => NativeLibraryResolver.Load(LibraryNames.Nccl);

    /// <summary>NCCL's version (ncclGetVersion), e.g. 2.27.3.</summary>
    public static Version Version
    {
        get
        {
            RequireLoaded();
            Check(Nccl.ncclGetVersion(out int code), "ncclGetVersion");
            // NCCL 2.9 and later encode major * 10000 + minor * 100 + patch.
            return new Version(code / 10000, code / 100 % 100, code % 100);
        }
    }

    /// <summary>A new group id (ncclGetUniqueId), made by rank 0 and sent to every other rank.</summary>
    public static byte[] CreateUniqueId()
    {
        RequireLoaded();
        Check(Nccl.ncclGetUniqueId(out NcclUniqueId id), "ncclGetUniqueId");
        return new ReadOnlySpan<byte>(id.Bytes, NcclUniqueId.Length).ToArray();
    }

    /// <summary>This GPU's rank in the group.</summary>
    public int Rank { get; }

    /// <summary>How many GPUs the group has.</summary>
    public int Size { get; }

    /// <summary>Enqueues an in-place all-reduce of <paramref name="count"/> elements at <paramref name="buffer"/> on <paramref name="stream"/>.</summary>
    public void AllReduce<T>(DevicePtr buffer, long count, ReduceOp op, IDeviceStream stream) where T : unmanaged
    {
        var ncclOp = op switch
        {
            ReduceOp.Sum => NcclRedOp.ncclSum,
            ReduceOp.Average => NcclRedOp.ncclAvg,
            ReduceOp.Max => NcclRedOp.ncclMax,
            ReduceOp.Min => NcclRedOp.ncclMin,
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
        };
        Check(Nccl.ncclAllReduce(buffer.Address, buffer.Address, Count(count), Datatype<T>(), ncclOp, Comm, StreamHandle(stream)), "ncclAllReduce");
    }

    /// <summary>Enqueues a copy of rank <paramref name="root"/>'s <paramref name="count"/> elements at <paramref name="buffer"/> into every other rank's.</summary>
    public void Broadcast<T>(DevicePtr buffer, long count, int root, IDeviceStream stream) where T : unmanaged
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"a rank of {Size}");
        Check(Nccl.ncclBroadcast(buffer.Address, buffer.Address, Count(count), Datatype<T>(), root, Comm, StreamHandle(stream)), "ncclBroadcast");
    }

    /// <summary>Throws when NCCL has recorded an error of its own on this communicator (a peer lost, a network failure).</summary>
    public void CheckAsyncError()
    {
        Check(Nccl.ncclCommGetAsyncError(Comm, out var asyncError), "ncclCommGetAsyncError");
        Check(asyncError, "an earlier NCCL collective");
    }

    /// <summary>Abandons the communicator without waiting for its collectives (ncclCommAbort), after a peer failed.</summary>
    public void Abort()
    {
        if (_comm == 0) return;
        Nccl.ncclCommAbort(_comm);
        _comm = 0;
    }

    private nint Comm => _comm != 0 ? _comm : throw new ObjectDisposedException(nameof(NcclCommunicator));

    private static nuint Count(long count) =>
        count >= 0 ? (nuint)count : throw new ArgumentOutOfRangeException(nameof(count), count, "an element count cannot be negative");

    private static nint StreamHandle(IDeviceStream stream) => stream is CudaStream cuda
        ? cuda.Handle
        : throw new ArgumentException($"NCCL runs on a CUDA stream, not on a {stream.GetType().Name} (the emulator has no NCCL)", nameof(stream));

    private static NcclDataType Datatype<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? NcclDataType.ncclFloat32
        : typeof(T) == typeof(double) ? NcclDataType.ncclFloat64
        : typeof(T) == typeof(int) ? NcclDataType.ncclInt32
        : typeof(T) == typeof(long) ? NcclDataType.ncclInt64
        : throw new ArgumentException($"NCCL collectives here take float, double, int or long, not {typeof(T).Name}");

    private static void RequireLoaded()
    {
        var status = LibraryStatus;
        if (!status.IsLoaded)
            throw new CollectiveException($"NCCL is not available: {status.FailureReason} " +
                "(it comes with the CUDA toolkit's NCCL packages or NVIDIA's pip wheel nvidia-nccl-cu12/-cu13; CUDANN_NCCL_PATH names it)");
    }

    private static void Check(NcclResult result, string call, string hint = "")
    {
        if (result == NcclResult.ncclSuccess) return;
        string description = Marshal.PtrToStringUTF8((nint)Nccl.ncclGetErrorString(result)) ?? "no description";
        // NCCL's own timeout is the same failure as a rank that never answers MPI: reported as the same exception.
        if (result == NcclResult.ncclTimeout) throw new CollectiveTimeoutException($"{call} timed out: {result} ({description}){hint}");
        throw new CollectiveException($"{call} failed: {result} ({description}){hint}");
    }

    public void Dispose()
    {
        if (_comm == 0) return;
        Nccl.ncclCommDestroy(_comm);
        _comm = 0;
    }
}
