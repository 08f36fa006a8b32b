using System.Numerics;
using CudaNn.Backends.Cuda;

namespace CudaNn.Distributed;

/// <summary>
/// A process group over Open MPI's MPI_COMM_WORLD. On the CPU, collectives run on the tensors' host arrays. On the
/// emulator, whose device memory is host memory, they run in the device stream's order, so a captured training step
/// records its all-reduce and replays it, as a GPU's step does NCCL's. An average is the sum multiplied by 1/WorldSize
/// on every rank alike.
/// </summary>
public sealed class MpiProcessGroup : ProcessGroup
{
    private readonly MpiCommunicator _world;
    private readonly GpuDevice? _emulator;

    /// <summary>A group of every rank of <paramref name="world"/> for tensors on <paramref name="device"/> (the CPU, the
    /// default, or the emulator); disposing it finalises MPI.</summary>
    public MpiProcessGroup(MpiCommunicator world, Device? device = null)
    {
        _world = world ?? throw new ArgumentNullException(nameof(world));
        device ??= Device.Cpu;
        if (device.Kind == DeviceKind.Emulator) _emulator = (GpuDevice)device;
        else if (device.Kind != DeviceKind.Cpu)
            throw new CollectiveException($"MPI collectives here take CPU or emulator tensors; {device.Name} is a GPU, whose ranks use NCCL");
        Device = device;
        Timeout = world.Timeout;
    }

    public override int Rank => _world.Rank;
    public override int WorldSize => _world.Size;
    public override string Backend => "mpi";
    public override Device Device { get; }

    public override void Barrier()
    {
        Synchronize();
        _world.Barrier();
    }

    public override void Abort(int exitCode) => _world.Abort(exitCode);

    private protected override void OnTimeoutChanged(TimeSpan timeout) => _world.Timeout = timeout;

    private protected override void AllReduceCore(Tensor tensor, ReduceOp op)
    {
        switch (tensor.DType)
        {
            case DType.Float32: OnHost(tensor, (address, count) => Reduce(address, count, op, 1f / WorldSize)); break;
            case DType.Float64: OnHost(tensor, (address, count) => Reduce(address, count, op, 1.0 / WorldSize)); break;
            case DType.Int32 when op != ReduceOp.Average: OnHost(tensor, (address, count) => _world.AllReduce<int>(address, count, op)); break;
            default: throw new ArgumentException($"all_reduce with {op} takes float32 or float64 tensors{(op == ReduceOp.Average ? "" : " or int32")}, not {tensor.DType.Name()}");
        }
    }

    private unsafe void Reduce<T>(nint address, long count, ReduceOp op, T reciprocal) where T : unmanaged, IFloatingPointIeee754<T>
    {
        _world.AllReduce<T>(address, count, op == ReduceOp.Average ? ReduceOp.Sum : op);
        if (op != ReduceOp.Average) return;
        foreach (ref T v in new Span<T>((void*)address, checked((int)count))) v *= reciprocal;
    }

    private protected override void BroadcastCore(Tensor tensor, int root)
    {
        switch (tensor.DType)
        {
            case DType.Float32: OnHost(tensor, (address, count) => _world.Broadcast<float>(address, count, root)); break;
            case DType.Float64: OnHost(tensor, (address, count) => _world.Broadcast<double>(address, count, root)); break;
            case DType.Int32: OnHost(tensor, (address, count) => _world.Broadcast<int>(address, count, root)); break;
            case DType.UInt8: OnHost(tensor, (address, count) => _world.Broadcast<byte>(address, count, root)); break;
            default: throw new ArgumentException($"broadcast takes float32, float64, int32 or uint8 tensors, not {tensor.DType.Name()}");
        }
    }

    /// <summary>
    /// Runs <paramref name="collective"/> on the tensor's host address: at once for a pinned CPU array (left pinned if it
    /// throws, since MPI may still write to it), in stream order on the emulator.
    /// </summary>
    private unsafe void OnHost(Tensor tensor, Action<nint, long> collective)
    {
        if (_emulator is null)
        {
            var pin = tensor.Storage switch
            {
                CpuStorage<float> f => f.Data.AsMemory().Pin(),
                CpuStorage<double> d => d.Data.AsMemory().Pin(),
                CpuStorage<int> i => i.Data.AsMemory().Pin(),
                CpuStorage<byte> b => b.Data.AsMemory().Pin(),
                _ => throw new ArgumentException($"{tensor} is not held in a host array"),
            };
            collective((nint)((byte*)pin.Pointer + tensor.Offset * tensor.DType.Size()), tensor.Numel);
            pin.Dispose();
            return;
        }
        var storage = (DeviceStorage)tensor.Storage;
        if (_emulator.IsCapturing) storage.MarkUsedByGraph();
        _emulator.Compute.EnqueueHostAccess(_emulator.Stream, storage.At(tensor.Offset), tensor.Numel * tensor.DType.Size(),
            address => collective(address, tensor.Numel));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _world.Dispose();
    }
}
