namespace CudaNn.Distributed;

// The vocabulary every collective shares, whichever library runs it: how values combine and how a collective fails.

/// <summary>How an all-reduce combines the ranks' values (torch.distributed.ReduceOp).</summary>
public enum ReduceOp
{
    /// <summary>The sum over ranks.</summary>
    Sum,

    /// <summary>The sum over ranks divided by their number (ReduceOp.AVG), as gradients are averaged.</summary>
    Average,

    /// <summary>The largest value.</summary>
    Max,

    /// <summary>The smallest value.</summary>
    Min,
}

/// <summary>
/// A collective (all-reduce, broadcast, barrier) did not complete within its timeout: another rank stopped, hung or died.
/// The process cannot take part in collectives any more; the usual answer is to abort the job.
/// </summary>
public sealed class CollectiveTimeoutException(string message) : TimeoutException(message);

/// <summary>An MPI or NCCL call failed, or the library cannot be used; the message names the call and the reason.</summary>
public sealed class CollectiveException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
