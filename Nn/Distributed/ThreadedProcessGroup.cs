using System.Numerics;

namespace CudaNn.Distributed;

/// <summary>
/// Ranks that are threads of this process, over CPU tensors (torch's threaded test group): what a multi-process job
/// computes, checkable inside one test. An all-reduce adds the ranks' values in rank order, so every rank gets the
/// same bits on every run, and an average multiplies that sum by 1/WorldSize as <see cref="MpiProcessGroup"/> does.
/// </summary>
public sealed class ThreadedProcessGroup : ProcessGroup
{
    private readonly Rendezvous _shared;

    private ThreadedProcessGroup(Rendezvous shared, int rank) => (_shared, Rank) = (shared, rank);

    /// <summary>One group per rank, to be used each from its own thread.</summary>
    public static IReadOnlyList<ThreadedProcessGroup> Create(int worldSize, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        var shared = new Rendezvous(worldSize);
        return Enumerable.Range(0, worldSize).Select(r => new ThreadedProcessGroup(shared, r) { Timeout = timeout ?? DefaultTimeout }).ToArray();
    }

    public override int Rank { get; }
    public override int WorldSize => _shared.Slots.Length;
    public override string Backend => "threads";
    public override Device Device => Device.Cpu;

    public override void Barrier() => Meet("barrier");

    /// <summary>Breaks the group for every rank (their next collective fails) and throws: its ranks are this process's threads.</summary>
    public override void Abort(int exitCode)
    {
        _shared.Aborted = true;
        throw new CollectiveException($"rank {Rank} of {WorldSize} aborted the threaded group (exit code {exitCode})");
    }

    private protected override void AllReduceCore(Tensor tensor, ReduceOp op)
    {
        switch (tensor.DType)
        {
            case DType.Float32: Reduce<float>(tensor, op); break;
            case DType.Float64: Reduce<double>(tensor, op); break;
            case DType.Int32 when op != ReduceOp.Average: Reduce<int>(tensor, op); break;
            default: throw new ArgumentException($"all_reduce with {op} takes float32 or float64 tensors{(op == ReduceOp.Average ? "" : " or int32")}, not {tensor.DType.Name()}");
        }
    }

    private void Reduce<T>(Tensor tensor, ReduceOp op) where T : unmanaged, INumber<T>
    {
        _shared.Slots[Rank] = tensor;
        Meet("all-reduce");
        var result = new T[tensor.Numel];
        for (int r = 0; r < WorldSize; r++)
        {
            var other = _shared.Slots[r]!;
            if (other.Numel != tensor.Numel)
                throw new ArgumentException($"all_reduce: rank {r} gave {other.Numel} elements but rank {Rank} {tensor.Numel}");
            var values = other.Span<T>();
            for (int i = 0; i < result.Length; i++)
                result[i] = r == 0 ? values[i] : op switch
                {
                    ReduceOp.Max => T.Max(result[i], values[i]),
                    ReduceOp.Min => T.Min(result[i], values[i]),
                    _ => result[i] + values[i],
                };
        }
        if (op == ReduceOp.Average)
        {
            T reciprocal = T.One / T.CreateChecked(WorldSize);
            for (int i = 0; i < result.Length; i++) result[i] *= reciprocal;
        }
        Meet("all-reduce");
        result.CopyTo(tensor.Span<T>());
    }

    private protected override void BroadcastCore(Tensor tensor, int root)
    {
        _shared.Slots[Rank] = tensor;
        Meet("broadcast");
        var source = _shared.Slots[root]!;
        if (source.Numel != tensor.Numel || source.DType != tensor.DType)
            throw new ArgumentException($"broadcast: rank {root} sent {source} but rank {Rank} receives into {tensor}");
        byte[] bytes = new byte[tensor.Numel * tensor.DType.Size()];
        source.Storage.CopyToHost(source.Offset, bytes);
        Meet("broadcast");
        if (Rank != root) tensor.Storage.CopyFromHost(bytes, tensor.Offset);
    }

    private void Meet(string what)
    {
        if (_shared.Aborted) throw new CollectiveException($"rank {Rank} of {WorldSize}: the group was aborted by another rank");
        if (!_shared.Meeting.SignalAndWait(Timeout))
            throw new CollectiveTimeoutException($"rank {Rank} of {WorldSize}: {what} did not complete within {Timeout.TotalSeconds:0.###} s; " +
                "another rank has stopped, hung or failed");
        if (_shared.Aborted) throw new CollectiveException($"rank {Rank} of {WorldSize}: the group was aborted by another rank");
    }

    private sealed class Rendezvous(int size)
    {
        public readonly Tensor?[] Slots = new Tensor?[size];
        public readonly Barrier Meeting = new(size);
        public volatile bool Aborted;
    }
}
