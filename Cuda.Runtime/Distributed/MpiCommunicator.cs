using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using CudaNn.Cuda;
using CudaNn.Cuda.Interop;

namespace CudaNn.Distributed;

/// <summary>
/// MPI_COMM_WORLD of Open MPI, initialised once per process: rank, size, and the collectives data-parallel training
/// needs on host memory. Each collective is started non-blocking and polled, so one that another rank never joins
/// ends in a <see cref="CollectiveTimeoutException"/> after <see cref="Timeout"/> instead of waiting forever.
/// Calls must come from one thread at a time (MPI_THREAD_SERIALIZED).
/// </summary>
internal sealed unsafe class MpiCommunicator : IDisposable
{
    private static readonly Lock Gate = new();
    private static MpiCommunicator? _world;
    private static bool _finalized;

    private readonly MpiHandles _handles;
    private long _operations;
    private bool _disposed;

    private MpiCommunicator(MpiHandles handles, int rank, int size, TimeSpan timeout)
    {
        (_handles, Rank, Size) = (handles, rank, size);
        Timeout = timeout;
    }

    /// <summary>Where libmpi was loaded from, or why not; needs no launcher.</summary>
    public static NativeLibraryStatus LibraryStatus => NativeLibraryResolver.Load(LibraryNames.Mpi);

    /// <summary>The library's own description (MPI_Get_library_version), e.g. "Open MPI v4.1.4, ..."; throws when it cannot be used.</summary>
    public static string LibraryVersion
    {
        get
        {
            RequireOpenMpi();
            byte* text = stackalloc byte[Mpi.MaxLibraryVersionString];
            Check(Mpi.MPI_Get_library_version(text, out int length), "MPI_Get_library_version");
            return Encoding.UTF8.GetString(text, length).Split(',', '\n')[0].Trim();
        }
    }

    /// <summary>
    /// MPI_COMM_WORLD, initialising MPI on first use. MPI can be initialised once per process: after
    /// <see cref="Dispose"/> (MPI_Finalize) this throws.
    /// </summary>
    public static MpiCommunicator World(TimeSpan timeout)
    {
        CheckTimeout(timeout);
        lock (Gate)
        {
            if (_world is not null)
            {
                _world.Timeout = timeout;
                return _world;
            }
            if (_finalized) throw new CollectiveException("MPI was finalised in this process, and MPI cannot be initialised twice");
            var handles = RequireOpenMpi();
            Check(Mpi.MPI_Initialized(out int initialized), "MPI_Initialized");
            if (initialized == 0)
            {
                Check(Mpi.MPI_Init_thread(null, null, MpiThreadLevel.MPI_THREAD_SERIALIZED, out var provided), "MPI_Init_thread");
                if (provided < MpiThreadLevel.MPI_THREAD_SERIALIZED)
                    throw new CollectiveException($"MPI_Init_thread provides {provided}; CudaNn needs MPI_THREAD_SERIALIZED (calls from one thread at a time)");
            }
            Check(Mpi.MPI_Comm_rank(handles.CommWorld, out int rank), "MPI_Comm_rank");
            Check(Mpi.MPI_Comm_size(handles.CommWorld, out int size), "MPI_Comm_size");
            return _world = new MpiCommunicator(handles, rank, size, timeout);
        }
    }

    /// <summary>This process's rank in MPI_COMM_WORLD, from 0.</summary>
    public int Rank { get; }

    /// <summary>How many ranks the job has.</summary>
    public int Size { get; }

    /// <summary>How long one collective may wait for the other ranks before <see cref="CollectiveTimeoutException"/>.</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>Collectives started so far, counted from 1 in messages.</summary>
    public long Operations => _operations;

    /// <summary>Every rank's <paramref name="values"/> replaced, in place, by their element-wise sum, maximum or minimum.</summary>
    public void AllReduce<T>(Memory<T> values, ReduceOp op) where T : unmanaged
    {
        MemoryHandle pin = values.Pin();
        AllReduce<T>((nint)pin.Pointer, values.Length, op);
        pin.Dispose(); // not reached after a timeout: MPI may still write to the array, so it stays pinned
    }

    /// <summary>The same over <paramref name="count"/> elements of host memory at <paramref name="address"/> (not moved by the GC).</summary>
    public void AllReduce<T>(nint address, long count, ReduceOp op) where T : unmanaged
    {
        if (op is not (ReduceOp.Sum or ReduceOp.Max or ReduceOp.Min))
            throw new ArgumentOutOfRangeException(nameof(op), op, "MPI reduces by Sum, Max or Min; an average is a sum divided by Size");
        Run<T>(Collective.AllReduce, address, count, op, root: 0);
    }

    /// <summary>Rank <paramref name="root"/>'s <paramref name="values"/> copied into every other rank's.</summary>
    public void Broadcast<T>(Memory<T> values, int root) where T : unmanaged
    {
        MemoryHandle pin = values.Pin();
        Broadcast<T>((nint)pin.Pointer, values.Length, root);
        pin.Dispose(); // not reached after a timeout, as above
    }

    /// <summary>The same over <paramref name="count"/> elements of host memory at <paramref name="address"/> (not moved by the GC).</summary>
    public void Broadcast<T>(nint address, long count, int root) where T : unmanaged
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"a rank of {Size}");
        Run<T>(Collective.Broadcast, address, count, ReduceOp.Sum, root);
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier() => Run<byte>(Collective.Barrier, 0, 0, ReduceOp.Sum, root: 0);

    /// <summary>Ends every process of the job with <paramref name="exitCode"/> (MPI_Abort); does not return.</summary>
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        Mpi.MPI_Abort(_handles.CommWorld, exitCode);
        Environment.Exit(exitCode); // MPI_Abort should not return; if it does, this process still ends
    }

    private enum Collective
    {
        AllReduce,
        Broadcast,
        Barrier,
    }

    /// <summary>
    /// Starts a collective over <paramref name="count"/> elements at <paramref name="address"/>, in chunks of at most
    /// int.MaxValue elements (MPI's counts are int), and polls each until it completes or <see cref="Timeout"/> passes.
    /// Nothing is allocated unless it times out: this runs in every data-parallel training step.
    /// </summary>
    private void Run<T>(Collective collective, nint address, long count, ReduceOp op, int root) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long offset = 0;
        do
        {
            int chunk = (int)Math.Min(count - offset, int.MaxValue);
            long operation = Interlocked.Increment(ref _operations);
            void* at = (T*)address + offset;
            nint request;
            switch (collective)
            {
                case Collective.AllReduce:
                    nint mpiOp = op == ReduceOp.Max ? _handles.Max : op == ReduceOp.Min ? _handles.Min : _handles.Sum;
                    Check(Mpi.MPI_Iallreduce(Mpi.InPlace, at, chunk, Datatype<T>(), mpiOp, _handles.CommWorld, out request), "MPI_Iallreduce");
                    break;
                case Collective.Broadcast:
                    Check(Mpi.MPI_Ibcast(at, chunk, Datatype<T>(), root, _handles.CommWorld, out request), "MPI_Ibcast");
                    break;
                default:
                    Check(Mpi.MPI_Ibarrier(_handles.CommWorld, out request), "MPI_Ibarrier");
                    break;
            }
            if (!Completed(ref request))
                throw new CollectiveTimeoutException(
                    $"rank {Rank} of {Size}: {Describe<T>(collective, count, op, root)} (collective #{operation}) did not complete within " +
                    $"{Timeout.TotalSeconds:0.###} s; another rank has stopped, hung or died");
            offset += chunk;
        }
        while (offset < count);
    }

    /// <summary>Polls <paramref name="request"/> until it completes (true) or <see cref="Timeout"/> passes (false).</summary>
    private bool Completed(ref nint request)
    {
        long started = Stopwatch.GetTimestamp();
        var spin = new SpinWait();
        while (true)
        {
            Check(Mpi.MPI_Test(ref request, out int done, null), "MPI_Test");
            if (done != 0) return true;
            if (Stopwatch.GetElapsedTime(started) > Timeout) return false;
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private static string Describe<T>(Collective collective, long count, ReduceOp op, int root) where T : unmanaged => collective switch
    {
        Collective.AllReduce => $"all-reduce ({op.ToString().ToLowerInvariant()}) of {count:N0} {TypeName<T>()} values",
        Collective.Broadcast => $"broadcast from rank {root} of {count:N0} {TypeName<T>()} values",
        _ => "barrier",
    };

    private nint Datatype<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? _handles.Float
        : typeof(T) == typeof(double) ? _handles.Double
        : typeof(T) == typeof(int) ? _handles.Int
        : typeof(T) == typeof(long) ? _handles.Int64
        : typeof(T) == typeof(byte) ? _handles.Byte
        : throw new ArgumentException($"MPI collectives take float, double, int, long or byte, not {typeof(T).Name}");

    private static string TypeName<T>() =>
        typeof(T) == typeof(float) ? "float32" : typeof(T) == typeof(double) ? "float64" : typeof(T) == typeof(int) ? "int32"
        : typeof(T) == typeof(long) ? "int64" : typeof(T) == typeof(byte) ? "uint8" : typeof(T).Name;

    private static void CheckTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "a collective's timeout must be positive");
    }

    /// <summary>The handles of the loaded library, or a clear refusal when it is missing or is not Open MPI.</summary>
    private static MpiHandles RequireOpenMpi()
    {
        var status = LibraryStatus;
        if (!status.IsLoaded)
            throw new CollectiveException($"MPI is not available: {status.FailureReason} (install Open MPI: apt-get install openmpi-bin)");
        return MpiHandles.From(status.Handle)
            ?? throw new CollectiveException($"{status.LoadedFrom} is not Open MPI: it has no {MpiHandles.CommWorldSymbol}, so its handles are " +
                "integers (the MPICH ABI), which CudaNn does not bind; install Open MPI (libmpi.so.40) or point CUDANN_MPI_PATH at it");
    }

    private static void Check(int code, string call)
    {
        if (code == 0) return;
        byte* text = stackalloc byte[Mpi.MaxErrorString];
        string reason = Mpi.MPI_Error_string(code, text, out int length) == 0 ? Encoding.UTF8.GetString(text, length) : "unknown error";
        throw new CollectiveException($"{call} failed: error {code} ({reason})");
    }

    /// <summary>MPI_Finalize: every rank must call it; MPI cannot be used again in this process.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_disposed) return;
            _disposed = true;
            _world = null;
            _finalized = true;
            Check(Mpi.MPI_Finalize(), "MPI_Finalize");
        }
    }
}
