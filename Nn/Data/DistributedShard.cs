namespace CudaNn.Data;

/// <summary>
/// One rank's share of each epoch in a data-parallel job (torch.utils.data.DistributedSampler): every rank orders the
/// data set alike (the same permutation from the same seed), and rank r takes the samples at positions r, r + N,
/// r + 2N, ... of that order, so the ranks' shares are disjoint. With padding to equal shares (training) the order
/// is first padded with its own beginning to a multiple of N, as DistributedSampler does, so every rank takes the same
/// number of steps; without it (evaluation) every sample is counted exactly once and shares differ by at most one.
/// </summary>
/// <remarks>
/// Batch k of rank r then holds positions N·k·B + r, N·k·B + r + N, ...: together the ranks' batch k is exactly the
/// batch k a single process with batch N·B takes from the same order (when N divides the data set), so N ranks
/// averaging their gradients step as that process would, up to the order of the sums.
/// </remarks>
public sealed record DistributedShard
{
    public DistributedShard(int rank, int worldSize, bool padToEqual = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"a rank of {worldSize}");
        (Rank, WorldSize, PadToEqual) = (rank, worldSize, padToEqual);
    }

    public int Rank { get; }
    public int WorldSize { get; }
    public bool PadToEqual { get; }

    /// <summary>How many of <paramref name="count"/> samples this rank takes each epoch.</summary>
    public int Length(int count) => PadToEqual
        ? (count + WorldSize - 1) / WorldSize
        : Math.Max(0, (count - Rank + WorldSize - 1) / WorldSize);

    /// <summary>This rank's share of <paramref name="order"/>, an ordering of the whole data set.</summary>
    public int[] Select(ReadOnlySpan<int> order)
    {
        var share = new int[Length(order.Length)];
        for (int i = 0; i < share.Length; i++)
            share[i] = order[(Rank + i * WorldSize) % Math.Max(order.Length, 1)];
        return share;
    }
}
