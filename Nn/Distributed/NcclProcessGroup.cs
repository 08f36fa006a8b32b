using System.Diagnostics;
using System.Globalization;
using CudaNn.Backends.Cuda;
using CudaNn.Cuda;

namespace CudaNn.Distributed;

/// <summary>
/// A process group of GPUs, one per rank, whose collectives NCCL runs on the device's stream: they are ordered with
/// the step's kernels and captured with them into the step's CUDA graph. MPI carries rank 0's NCCL id to the other
/// ranks and serves the barrier and the abort; a single rank needs no MPI.
/// </summary>
internal sealed class NcclProcessGroup : ProcessGroup
{
    private readonly CudaDevice _device;
    private readonly NcclCommunicator _nccl;
    private readonly MpiCommunicator? _mpi;
    private IDeviceEvent? _queueDone;

    private NcclProcessGroup(CudaDevice device, NcclCommunicator nccl, MpiCommunicator? mpi) => (_device, _nccl, _mpi) = (device, nccl, mpi);

    /// <summary>A group of one GPU, for trying the NCCL path (and its graph capture) on a single card without a launcher.</summary>
    public static NcclProcessGroup Single(CudaDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        RequireCuda(device);
        return new NcclProcessGroup(device, new NcclCommunicator(0, 1, NcclCommunicator.CreateUniqueId()), null);
    }

    /// <summary>Every rank of <paramref name="mpi"/>'s job on its own GPU, <paramref name="device"/> being this rank's.</summary>
    public static NcclProcessGroup Create(CudaDevice device, MpiCommunicator mpi, MpiLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(mpi);
        ArgumentNullException.ThrowIfNull(launch);
        RequireCuda(device);
        string own = $"cuda:{LocalGpu(launch).ToString(CultureInfo.InvariantCulture)}";
        if (launch.LocalSize > 1 && device.Name != own)
            throw new CollectiveException($"rank {launch.Rank} would run on {device.Name}, but with {launch.LocalSize} ranks on this machine each takes " +
                $"the GPU of its local rank ({own}): NCCL refuses two ranks on one GPU");
        byte[] id = mpi.Rank == 0 ? NcclCommunicator.CreateUniqueId() : new byte[128];
        mpi.Broadcast<byte>(id, root: 0);
        var group = new NcclProcessGroup(device, new NcclCommunicator(mpi.Rank, mpi.Size, id), mpi);
        group.Timeout = mpi.Timeout;
        return group;
    }

    private static void RequireCuda(CudaDevice device)
    {
        if (device.Kind != DeviceKind.Cuda)
            throw new CollectiveException($"NCCL runs on CUDA devices, not on {device.Name}");
    }

    public override int Rank => _nccl.Rank;
    public override int WorldSize => _nccl.Size;
    public override string Backend => "nccl";
    public override Device Device => _device;

    /// <summary>Waits for this rank's queued work, then for every rank (through MPI when there are several).</summary>
    public override void Barrier()
    {
        Synchronize();
        _mpi?.Barrier();
    }

    /// <summary>
    /// Polls an event behind this rank's queued work instead of blocking in the driver: an NCCL kernel whose peer has
    /// hung would never finish, so past <see cref="ProcessGroup.Timeout"/> the communicator is aborted (which ends its
    /// kernels) and the wait fails naming the cause.
    /// </summary>
    public override void Synchronize()
    {
        _queueDone ??= _device.Compute.CreateEvent();
        _queueDone.Record(_device.Stream);
        var clock = Stopwatch.StartNew();
        while (!_queueDone.IsComplete)
        {
            _nccl.CheckAsyncError();
            if (clock.Elapsed > Timeout)
            {
                _nccl.Abort();
                throw new CollectiveTimeoutException($"{this}: the work queued on {_device.Name} (its NCCL collectives) did not finish within " +
                    $"{Timeout.TotalSeconds:0.###} s; another rank has stopped, hung or died");
            }
            Thread.Sleep(clock.Elapsed < TimeSpan.FromMilliseconds(10) ? 0 : 1);
        }
        _nccl.CheckAsyncError();
    }

    public override void Abort(int exitCode)
    {
        _nccl.Abort();
        if (_mpi is not null) _mpi.Abort(exitCode);
        Environment.Exit(exitCode);
    }

    private protected override void OnTimeoutChanged(TimeSpan timeout)
    {
        if (_mpi is not null) _mpi.Timeout = timeout;
    }

    private protected override void AllReduceCore(Tensor tensor, ReduceOp op)
    {
        var at = Pointer(tensor);
        switch (tensor.DType)
        {
            case DType.Float32: _nccl.AllReduce<float>(at, tensor.Numel, op, _device.Stream); break;
            case DType.Float64: _nccl.AllReduce<double>(at, tensor.Numel, op, _device.Stream); break;
            case DType.Int32: _nccl.AllReduce<int>(at, tensor.Numel, op, _device.Stream); break;
            default: throw new ArgumentException($"all_reduce takes float32, float64 or int32 tensors, not {tensor.DType.Name()}");
        }
    }

    private protected override void BroadcastCore(Tensor tensor, int root)
    {
        var at = Pointer(tensor);
        switch (tensor.DType)
        {
            case DType.Float32: _nccl.Broadcast<float>(at, tensor.Numel, root, _device.Stream); break;
            case DType.Float64: _nccl.Broadcast<double>(at, tensor.Numel, root, _device.Stream); break;
            case DType.Int32: _nccl.Broadcast<int>(at, tensor.Numel, root, _device.Stream); break;
            default: throw new ArgumentException($"broadcast takes float32, float64 or int32 tensors, not {tensor.DType.Name()}");
        }
    }

    private static Cuda.DevicePtr Pointer(Tensor tensor) => ((DeviceStorage)tensor.Storage).ForWork(tensor.Offset);

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _queueDone?.Dispose();
        _nccl.Dispose();
        _mpi?.Dispose();
    }
}
