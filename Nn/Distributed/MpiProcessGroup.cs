namespace CudaNn.Distributed;

/// <summary>
/// A process group over Open MPI's MPI_COMM_WORLD for CPU tensors: collectives run on the tensors' host arrays,
/// and an average is the sum multiplied by 1/WorldSize on every rank alike.
/// </summary>
public sealed class MpiProcessGroup : ProcessGroup
{
    private readonly MpiCommunicator _world;

    /// <summary>A group of every rank of <paramref name="world"/>; disposing it finalises MPI.</summary>
    public MpiProcessGroup(MpiCommunicator world)
    {
        _world = world ?? throw new ArgumentNullException(nameof(world));
        Timeout = world.Timeout;
    }

    public override int Rank => _world.Rank;
    public override int WorldSize => _world.Size;
    public override string Backend => "mpi";
    public override Device Device => Device.Cpu;

    public override void Barrier() => _world.Barrier();

    public override void Abort(int exitCode) => _world.Abort(exitCode);

    private protected override void OnTimeoutChanged(TimeSpan timeout) => _world.Timeout = timeout;

    private protected override void AllReduceCore(Tensor tensor, ReduceOp op)
    {
        switch (tensor.DType)
        {
            case DType.Float32: Reduce(Host<float>(tensor), op, 1f / WorldSize); break;
            case DType.Float64: Reduce(Host<double>(tensor), op, 1.0 / WorldSize); break;
            case DType.Int32 when op != ReduceOp.Average: _world.AllReduce(Host<int>(tensor), op); break;
            default: throw new ArgumentException($"all_reduce with {op} takes float32 or float64 tensors{(op == ReduceOp.Average ? "" : " or int32")}, not {tensor.DType.Name()}");
        }
    }

    private void Reduce<T>(Memory<T> values, ReduceOp op, T reciprocal) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        _world.AllReduce(values, op == ReduceOp.Average ? ReduceOp.Sum : op);
        if (op != ReduceOp.Average) return;
        foreach (ref T v in values.Span) v *= reciprocal;
    }

    private protected override void BroadcastCore(Tensor tensor, int root)
    {
        switch (tensor.DType)
        {
            case DType.Float32: _world.Broadcast(Host<float>(tensor), root); break;
            case DType.Float64: _world.Broadcast(Host<double>(tensor), root); break;
            case DType.Int32: _world.Broadcast(Host<int>(tensor), root); break;
            case DType.UInt8: _world.Broadcast(Host<byte>(tensor), root); break;
            default: throw new ArgumentException($"broadcast takes float32, float64, int32 or uint8 tensors, not {tensor.DType.Name()}");
        }
    }

    private static Memory<T> Host<T>(Tensor tensor) where T : unmanaged =>
        new(((CpuStorage<T>)tensor.Storage).Data, checked((int)tensor.Offset), checked((int)tensor.Numel));

    protected override void Dispose(bool disposing)
    {
        if (disposing) _world.Dispose();
    }
}
