using System.Buffers;
using System.Numerics;
using CudaNn.Backends.Cuda;

namespace CudaNn.Distributed;

/// <summary>
/// A process group over Open MPI's MPI_COMM_WORLD. On the CPU, collectives run on the tensors' host arrays. On the
/// emulator, whose device memory is host memory, they run in the device stream's order, so a captured training step
/// records its all-reduce and replays it, as a GPU's step does NCCL's. An average is the sum multiplied by 1/WorldSize
/// on every rank alike.
/// </summary>
internal sealed class MpiProcessGroup : ProcessGroup
{
    private readonly MpiCommunicator _world;
    private readonly CudaDevice? _emulator;

    /// <summary>A group of every rank of <paramref name="world"/> for tensors on <paramref name="device"/> (the CPU, the
    /// default, or the emulator); disposing it finalises MPI.</summary>
    public MpiProcessGroup(MpiCommunicator world, Device? device = null)
    {
        _world = world ?? throw new ArgumentNullException(nameof(world));
        device ??= Device.Cpu;
        if (device.Kind == DeviceKind.Emulator) _emulator = (CudaDevice)device;
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
        if (tensor.DType is not (DType.Float32 or DType.Float64) && !(tensor.DType == DType.Int32 && op != ReduceOp.Average))
            throw new ArgumentException($"all_reduce with {op} takes float32 or float64 tensors{(op == ReduceOp.Average ? "" : " or int32")}, not {tensor.DType.Name()}");
        if (_emulator is null)
        {
            nint address = Pin(tensor, out var pin);
            AllReduceAt(tensor.DType, address, tensor.Numel, op);
            pin.Dispose(); // not reached after a timeout: MPI may still write to the array, so it stays pinned
        }
        else
        {
            OnEmulatorStream(tensor, address => AllReduceAt(tensor.DType, address, tensor.Numel, op));
        }
    }

    private protected override void BroadcastCore(Tensor tensor, int root)
    {
        if (tensor.DType is not (DType.Float32 or DType.Float64 or DType.Int32 or DType.UInt8))
            throw new ArgumentException($"broadcast takes float32, float64, int32 or uint8 tensors, not {tensor.DType.Name()}");
        if (_emulator is null)
        {
            nint address = Pin(tensor, out var pin);
            BroadcastAt(tensor.DType, address, tensor.Numel, root);
            pin.Dispose(); // as above
        }
        else
        {
            OnEmulatorStream(tensor, address => BroadcastAt(tensor.DType, address, tensor.Numel, root));
        }
    }

    private void AllReduceAt(DType dtype, nint address, long count, ReduceOp op)
    {
        switch (dtype)
        {
            case DType.Float32: Reduce(address, count, op, 1f / WorldSize); break;
            case DType.Float64: Reduce(address, count, op, 1.0 / WorldSize); break;
            default: _world.AllReduce<int>(address, count, op); break;
        }
    }

    private unsafe void Reduce<T>(nint address, long count, ReduceOp op, T reciprocal) where T : unmanaged, IFloatingPointIeee754<T>
    {
        _world.AllReduce<T>(address, count, op == ReduceOp.Average ? ReduceOp.Sum : op);
        if (op != ReduceOp.Average) return;
        foreach (ref T v in new Span<T>((void*)address, checked((int)count))) v *= reciprocal;
    }

    private void BroadcastAt(DType dtype, nint address, long count, int root)
    {
        switch (dtype)
        {
            case DType.Float32: _world.Broadcast<float>(address, count, root); break;
            case DType.Float64: _world.Broadcast<double>(address, count, root); break;
            case DType.Int32: _world.Broadcast<int>(address, count, root); break;
            default: _world.Broadcast<byte>(address, count, root); break;
        }
    }

    /// <summary>The host address of a CPU tensor's first element, its array pinned by <paramref name="pin"/>.</summary>
    private static unsafe nint Pin(Tensor tensor, out MemoryHandle pin)
    {
        pin = tensor.Storage switch
        {
            CpuStorage<float> f => f.Data.AsMemory().Pin(),
            CpuStorage<double> d => d.Data.AsMemory().Pin(),
            CpuStorage<int> i => i.Data.AsMemory().Pin(),
            CpuStorage<byte> b => b.Data.AsMemory().Pin(),
            _ => throw new ArgumentException($"{tensor} is not held in a host array"),
        };
        return (nint)((byte*)pin.Pointer + tensor.Offset * tensor.DType.Size());
    }

    /// <summary>Runs <paramref name="collective"/> on an emulator tensor's host address in the device stream's order, so a capture records it.</summary>
    private void OnEmulatorStream(Tensor tensor, Action<nint> collective)
    {
        _emulator!.Compute.EnqueueHostAccess(_emulator.Stream, ((DeviceStorage)tensor.Storage).ForWork(tensor.Offset),
            tensor.Numel * tensor.DType.Size(), collective);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _world.Dispose();
    }
}
