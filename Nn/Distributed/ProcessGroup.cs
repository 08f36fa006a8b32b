using System.Globalization;
using CudaNn.Backends.Cuda;
using CudaNn.Optim;

namespace CudaNn.Distributed;

/// <summary>
/// The ranks of a data-parallel job and the collectives they share (torch.distributed's process group): all-reduce,
/// broadcast and barrier over whole tensors, which must live on <see cref="Device"/>. Three implementations:
/// <see cref="MpiProcessGroup"/> (Open MPI; CPU and emulator ranks), <see cref="NcclProcessGroup"/> (NCCL; one GPU per rank) and
/// <see cref="ThreadedProcessGroup"/> (threads of one process; tests). Every rank must call the same collectives in
/// the same order with tensors of the same shape; one that waits longer than <see cref="Timeout"/> for the others
/// throws <see cref="CollectiveTimeoutException"/>.
/// </summary>
public abstract class ProcessGroup : IDisposable
{
    /// <summary>How long a collective waits by default before deciding a rank has failed (torch.distributed's NCCL default).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    private TimeSpan _timeout = DefaultTimeout;

    /// <summary>This process's rank (torch.distributed.get_rank()), from 0.</summary>
    public abstract int Rank { get; }

    /// <summary>How many ranks the job has (get_world_size()).</summary>
    public abstract int WorldSize { get; }

    /// <summary>"mpi", "nccl" or "threads".</summary>
    public abstract string Backend { get; }

    /// <summary>Where the tensors of this group's collectives live.</summary>
    public abstract Device Device { get; }

    /// <summary>How long one collective may wait for the other ranks.</summary>
    public TimeSpan Timeout
    {
        get => _timeout;
        set
        {
            if (value <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Timeout), value, "a collective's timeout must be positive");
            _timeout = value;
            OnTimeoutChanged(value);
        }
    }

    /// <summary>Replaces <paramref name="tensor"/> on every rank by the element-wise reduction of all ranks' (all_reduce).</summary>
    public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        Check(tensor, nameof(AllReduce));
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction");
        if (tensor.Numel > 0) AllReduceCore(tensor, op);
    }

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="tensor"/> into every other rank's (broadcast).</summary>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        Check(tensor, nameof(Broadcast));
        if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"a rank of {WorldSize}");
        if (tensor.Numel > 0) BroadcastCore(tensor, root);
    }

    /// <summary>Returns once every rank has called it.</summary>
    public abstract void Barrier();

    /// <summary>
    /// Waits for the work this rank has queued on <see cref="Device"/>, collectives included. With NCCL that work can wait
    /// on other ranks, so the wait is bounded by <see cref="Timeout"/>; read device values after it, not before.
    /// </summary>
    public virtual void Synchronize() => Device.Synchronize();

    /// <summary>
    /// Copies rank <paramref name="root"/>'s parameters and optimizer state into every rank's, so all start alike (what
    /// DistributedDataParallel does when it wraps a model): one broadcast of the flat parameter buffer and one per state buffer.
    /// </summary>
    public void BroadcastParameters(Optimizer optimizer, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Broadcast(optimizer.AllValues, root);
        foreach (var state in optimizer.StateBuffers().Values) Broadcast(state, root);
    }

    /// <summary>
    /// Replaces every rank's gradients by their mean over the ranks (DistributedDataParallel's backward hook), in one
    /// all-reduce of the optimizer's flat gradient buffer; call it between backward and the optimizer's step. As with
    /// DistributedDataParallel(find_unused_parameters=True), the ranks first agree which parameters have gradients: one
    /// that some rank's backward reached is averaged with zeros from the others and stepped on every rank; one that no
    /// rank's reached is skipped on every rank. That takes a small all-reduce of one number per parameter, except in a
    /// captured step, which replays what each rank's backward reached when it was captured (the same model on every
    /// rank reaches the same parameters).
    /// </summary>
    public void AverageGradients(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var grads = optimizer.Gradients.Read();
        if (WorldSize > 1 && Device is not CudaDevice { IsCapturing: true }) AgreeOnGradients(optimizer);
        AllReduce(grads, ReduceOp.Average);
    }

    /// <summary>Gives each parameter a gradient (its zeros, after the read above) where another rank's backward reached it.</summary>
    private void AgreeOnGradients(Optimizer optimizer)
    {
        var parameters = optimizer.Parameters;
        var given = new double[parameters.Count];
        for (int i = 0; i < given.Length; i++) given[i] = parameters[i].HasGrad ? 1 : 0;
        double[] ranks = AllReduce(given);
        for (int i = 0; i < given.Length; i++)
            if (ranks[i] > 0 && given[i] == 0) parameters[i].NoteGradientGiven();
    }

    /// <summary>
    /// Ends the whole job after an unrecoverable error on this rank (a collective timed out, a rank failed), so no
    /// rank waits for this one forever; does not return. The threaded group throws instead: its ranks are this process.
    /// </summary>
    public abstract void Abort(int exitCode);

    /// <summary>Host values reduced over the ranks, through a float64 tensor on <see cref="Device"/>: sums of losses and counts.</summary>
    public double[] AllReduce(ReadOnlySpan<double> values, ReduceOp op = ReduceOp.Sum)
    {
        using var tensor = Tensor.Empty([values.Length], DType.Float64, Device);
        tensor.CopyFrom(values);
        AllReduce(tensor, op);
        Synchronize();
        return tensor.ToArray<double>();
    }

    private protected abstract void AllReduceCore(Tensor tensor, ReduceOp op);

    private protected abstract void BroadcastCore(Tensor tensor, int root);

    private protected virtual void OnTimeoutChanged(TimeSpan timeout) { }

    private void Check(Tensor tensor, string what)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.ThrowIfUnusable();
        if (tensor.Device != Device)
            throw new ArgumentException($"{what}: {tensor} is on {tensor.Device.Name}, but this {Backend} group's tensors live on {Device.Name}", nameof(tensor));
    }

    /// <summary>"rank 1 of 4", for messages.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"rank {Rank} of {WorldSize} ({Backend})");

    /// <summary>
    /// The group of the job Open MPI's mpirun started this process in (torch.distributed.init_process_group): MPI
    /// for CPU (and emulator) tensors, NCCL for a CUDA device, which must be this rank's own (<see cref="LocalGpu"/>).
    /// Null when no launcher started this process; a launcher of another MPI is refused with the reason.
    /// </summary>
    public static ProcessGroup? FromLauncher(Device device, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        var launch = MpiLaunch.Current;
        if (launch is null)
        {
            if (MpiLaunch.ForeignLauncher(Environment.GetEnvironmentVariable) is { } foreign)
                throw new CollectiveException($"this process was started by {foreign}; CudaNn joins jobs of Open MPI's mpirun only");
            return null;
        }
        var limit = timeout ?? DefaultTimeout;
        return device.Kind switch
        {
            DeviceKind.Cuda => NcclProcessGroup.Create((CudaDevice)device, MpiCommunicator.World(limit), launch),
            _ => new MpiProcessGroup(MpiCommunicator.World(limit), device) { Timeout = limit },
        };
    }

    /// <summary>The GPU of this rank in a launch: cuda:LOCAL_RANK, one per rank on each machine.</summary>
    public static int LocalGpu(MpiLaunch launch) => launch?.LocalRank ?? throw new ArgumentNullException(nameof(launch));

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }
}
