using System.Numerics;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// Picks the SIMD width and the kernel, and splits large problems into disjoint blocks of C, one per
/// core. Each element of C is computed whole by one thread in an order fixed by the shapes, so the
/// result does not depend on how many threads ran or how they were scheduled.
/// </summary>
internal static class CpuGemmParallel
{
    /// <summary>
    /// Below this many flops a part is not worth handing to another thread: 4 MFLOP splits the batch-64 layers of the
    /// MNIST MLP (12.8 MFLOP: x·Wᵀ of fc1 and its weight gradient) and keeps the small ones (1 MFLOP and less) on one
    /// thread, where handing over costs more than it saves (the measurements behind it: docs/benchmarks.md).
    /// </summary>
    public const long MinFlopsPerPart = 4_000_000;

    /// <summary>
    /// Parts per thread: more, smaller parts than threads, claimed as threads come free, so a worker that
    /// the OS preempts holds up only a small part while the caller takes the rest.
    /// </summary>
    public const int PartsPerThread = 4;

    public static void Run<T>(in GemmProblem<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Lane512<T>.IsAccelerated)
            Run<T, Lane512<T>>(g);
        else if (Lane256<T>.IsAccelerated)
            Run<T, Lane256<T>>(g);
        else
            Run<T, Lane128<T>>(g);
    }

    /// <summary>The same product with a fixed lane type, so tests can check every width this CPU has.</summary>
    internal static void Run<T, TLane>(in GemmProblem<T> g)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        long flops = 2L * g.M * g.N * g.K;
        int parts = (int)Math.Clamp(flops / MinFlopsPerPart, 1, PartsPerThread * CpuGemmWorkers.Shared.Width);
        if (parts == 1)
        {
            RunSerial<T, TLane>(g);
            return;
        }
        CpuGemmJob<T, TLane>.ForCurrentThread().Run(g, parts);
    }

    internal static void RunSerial<T, TLane>(in GemmProblem<T> g)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        if (CpuGemmDotKernel.Suits<T, TLane>(g))
            CpuGemmDotKernel.Run<T, TLane>(g);
        else
            CpuGemmPacked.Run<T, TLane>(g);
    }
}

/// <summary>
/// One parallel GEMM: the problem cut into <c>parts</c> blocks of whole tiles along the longer side
/// of C. Reused per calling thread, so dispatching it allocates nothing but the pool's ticket.
/// </summary>
internal sealed class CpuGemmJob<T, TLane> : IPartitionedWork
    where T : unmanaged, IFloatingPointIeee754<T>
    where TLane : struct, ISimdLane<T, TLane>
{
    [ThreadStatic]
    private static CpuGemmJob<T, TLane>? s_current;

    private GemmProblem<T> _problem;
    private int _parts, _rowUnit, _colUnit;
    private bool _splitRows;

    public static CpuGemmJob<T, TLane> ForCurrentThread() => s_current ??= new CpuGemmJob<T, TLane>();

    public void Run(in GemmProblem<T> g, int parts)
    {
        bool dot = CpuGemmDotKernel.Suits<T, TLane>(g);
        _rowUnit = dot ? CpuGemmDotKernel.Tile : CpuGemmMicroKernel.Rows;
        _colUnit = dot ? CpuGemmDotKernel.Tile : 2 * TLane.Count;
        int rowTiles = (g.M + _rowUnit - 1) / _rowUnit, colTiles = (g.N + _colUnit - 1) / _colUnit;
        _splitRows = rowTiles >= colTiles;
        _parts = Math.Min(parts, _splitRows ? rowTiles : colTiles);
        _problem = g;
        if (_parts == 1)
            CpuGemmParallel.RunSerial<T, TLane>(g);
        else
            CpuGemmWorkers.Shared.Run(this, _parts);
    }

    public void RunPart(int part)
    {
        ref readonly GemmProblem<T> g = ref _problem;
        int unit = _splitRows ? _rowUnit : _colUnit, extent = _splitRows ? g.M : g.N;
        int tiles = (extent + unit - 1) / unit;
        int start = Math.Min(extent, tiles * part / _parts * unit);
        int end = Math.Min(extent, tiles * (part + 1) / _parts * unit);
        if (end <= start)
            return;
        GemmProblem<T> block = _splitRows ? g.Block(start, end - start, 0, g.N) : g.Block(0, g.M, start, end - start);
        CpuGemmParallel.RunSerial<T, TLane>(block);
    }
}
