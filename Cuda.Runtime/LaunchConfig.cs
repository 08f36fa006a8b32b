namespace CudaNn.Cuda;

/// <summary>A grid or block size in up to three dimensions; an int converts to (x, 1, 1).</summary>
internal readonly record struct Dim3(int X, int Y = 1, int Z = 1)
{
    /// <summary><c>X * Y * Z</c>.</summary>
    public long Count => (long)X * Y * Z;

    public static implicit operator Dim3(int x) => new(x);

    public override string ToString() => $"({X}, {Y}, {Z})";
}

/// <summary>
/// How a kernel is launched: <see cref="Grid"/> blocks of <see cref="Block"/> threads, with
/// <see cref="SharedBytes"/> bytes of dynamic shared memory per block.
/// </summary>
internal readonly record struct LaunchConfig(Dim3 Grid, Dim3 Block, int SharedBytes = 0)
{
    /// <summary>Threads per block the hardware allows on every CUDA GPU.</summary>
    public const int MaxThreadsPerBlock = 1024;

    /// <summary>One thread per element of <paramref name="n"/>: grid = ceil(n / block) blocks of <paramref name="block"/> threads.</summary>
    public static LaunchConfig For1D(long n, int block = 256, int sharedBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(block);
        long blocks = (n + block - 1) / block;
        if (blocks > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"{n} elements need {blocks} blocks of {block}, more than a grid's x limit of {int.MaxValue}.");
        return new LaunchConfig((int)blocks, block, sharedBytes).Validated();
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the dimension that no CUDA GPU accepts; returns this otherwise.</summary>
    public LaunchConfig Validated()
    {
        if (Grid.X < 1 || Grid.Y < 1 || Grid.Z < 1 || Grid.Y > 65535 || Grid.Z > 65535)
            throw new ArgumentException($"Grid {Grid} is invalid: every dimension must be at least 1, and y and z at most 65535.");
        if (Block.X < 1 || Block.Y < 1 || Block.Z < 1 || Block.Z > 64 || Block.Count > MaxThreadsPerBlock)
            throw new ArgumentException($"Block {Block} is invalid: every dimension at least 1, z at most 64, at most {MaxThreadsPerBlock} threads in all.");
        if (SharedBytes < 0)
            throw new ArgumentException($"Dynamic shared memory must not be negative (got {SharedBytes} bytes).");
        return this;
    }

    public override string ToString() => $"grid {Grid} x block {Block}, {SharedBytes} B shared";
}
