using System.Numerics;
using System.Runtime.InteropServices;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// Picks the SIMD width and the kernel, and splits large problems into disjoint blocks of C, one per
/// core. Each element of C is computed whole by one thread in an order fixed by the shapes, so the
/// result does not depend on how many threads ran or how they were scheduled.
/// </summary>
internal static unsafe class CpuGemmParallel
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
/// One parallel GEMM: the problem cut into <c>parts</c> blocks of whole tiles along the longer side of C. On the
/// packed path every block reads all of the operand along the other side (all of op(B) when rows are split, all of
/// op(A) when columns are), so that operand is packed once, by all threads together, before the blocks run; packing it
/// in every block would repeat the copy <c>parts</c> times, as much work as the arithmetic in the weight gradient
/// (k = the batch). Reused per calling thread, so dispatching allocates nothing but the pool's ticket.
/// </summary>
internal sealed unsafe class CpuGemmJob<T, TLane> : IPartitionedWork
    where T : unmanaged, IFloatingPointIeee754<T>
    where TLane : struct, ISimdLane<T, TLane>
{
    /// <summary>The largest operand packed ahead (elements, 32 MiB of float): a larger one is packed block by block.</summary>
    private const long MaxSharedElements = 8L << 20;

    [ThreadStatic]
    private static CpuGemmJob<T, TLane>? s_current;

    private GemmProblem<T> _problem;
    private int _parts, _rowUnit, _colUnit;
    private bool _splitRows, _dot, _packing;
    private T* _shared;
    private long _sharedCapacity;
    private T* _packedA, _packedB;

    public static CpuGemmJob<T, TLane> ForCurrentThread() => s_current ??= new CpuGemmJob<T, TLane>();

    public void Run(in GemmProblem<T> g, int parts)
    {
        _dot = CpuGemmDotKernel.Suits<T, TLane>(g);
        _rowUnit = _dot ? CpuGemmDotKernel.Tile : CpuGemmMicroKernel.Rows;
        _colUnit = _dot ? CpuGemmDotKernel.Tile : 2 * TLane.Count;
        int rowTiles = (g.M + _rowUnit - 1) / _rowUnit, colTiles = (g.N + _colUnit - 1) / _colUnit;
        _splitRows = rowTiles >= colTiles;
        _parts = Math.Min(parts, _splitRows ? rowTiles : colTiles);
        // Split by columns (the weight gradient: few rows, k = the batch), each part packs its own strip of B, read
        // row by row; a strip of a few panels is a few cache lines of each row, which the prefetcher follows poorly,
        // and every part reads all of A. One part per thread: 7% faster at batch 8,192 than four per thread (measured
        // alternating in one process), though a preempted thread's part is then not taken over by the others.
        if (!_splitRows)
            _parts = Math.Min(_parts, CpuGemmWorkers.Shared.Width);
        _problem = g;
        _packedA = _packedB = null;
        if (_parts == 1)
        {
            CpuGemmParallel.RunSerial<T, TLane>(g);
            return;
        }
        // Rows split: every block needs all of op(B), panels of _colUnit columns; columns split: all of op(A).
        int sharedTiles = _splitRows ? colTiles : rowTiles, sharedUnit = _splitRows ? _colUnit : _rowUnit;
        long sharedElements = (long)sharedTiles * sharedUnit * g.K;
        if (!_dot && sharedElements <= MaxSharedElements)
        {
            T* shared = SharedBuffer(sharedElements);
            if (_splitRows) _packedB = shared; else _packedA = shared;
            _packing = true;
            CpuGemmWorkers.Shared.Run(this, Math.Min(_parts, sharedTiles));
            _packing = false;
        }
        CpuGemmWorkers.Shared.Run(this, _parts);
    }

    public void RunPart(int part)
    {
        ref readonly GemmProblem<T> g = ref _problem;
        if (_packing)
        {
            PackSharedPart(g, part);
            return;
        }
        int unit = _splitRows ? _rowUnit : _colUnit, extent = _splitRows ? g.M : g.N;
        var (start, end) = Range(extent, unit, _parts, part);
        if (end <= start)
            return;
        GemmProblem<T> block = _splitRows ? g.Block(start, end - start, 0, g.N) : g.Block(0, g.M, start, end - start);
        if (_dot)
            CpuGemmDotKernel.Run<T, TLane>(block);
        else
            CpuGemmPacked.Run<T, TLane>(block, _packedA, _packedB);
    }

    /// <summary>Part <paramref name="part"/> of the operand packed ahead: a range of whole panels over the whole of k.</summary>
    private void PackSharedPart(in GemmProblem<T> g, int part)
    {
        int extent = _splitRows ? g.N : g.M, unit = _splitRows ? _colUnit : _rowUnit;
        int tiles = (extent + unit - 1) / unit;
        var (start, end) = Range(extent, unit, Math.Min(_parts, tiles), part);
        if (end <= start)
            return;
        if (_splitRows)
            CpuGemmPacking.PackB<T, TLane>(g, start, end - start, 0, g.K, _packedB + (long)start * g.K);
        else
            CpuGemmPacking.PackA(g, start, end - start, 0, g.K, _packedA + (long)start * g.K);
    }

    /// <summary>[start, end) of part <paramref name="part"/> of <paramref name="parts"/>: whole units, the last part ragged.</summary>
    private static (int Start, int End) Range(int extent, int unit, int parts, int part)
    {
        int tiles = (extent + unit - 1) / unit;
        return (Math.Min(extent, tiles * part / parts * unit), Math.Min(extent, tiles * (part + 1) / parts * unit));
    }

    /// <summary>This job's buffer for an operand packed ahead, grown to the largest asked for, cache-line aligned.</summary>
    private T* SharedBuffer(long elements)
    {
        if (elements > _sharedCapacity)
        {
            NativeMemory.AlignedFree(_shared);
            _shared = (T*)NativeMemory.AlignedAlloc((nuint)(elements * sizeof(T)), 64);
            _sharedCapacity = elements;
        }
        return _shared;
    }

    // Runs when the calling thread has died and nothing else can reach the job.
    ~CpuGemmJob() => NativeMemory.AlignedFree(_shared);
}
