using System.Numerics;

namespace CudaNn.Backends.Cpu;

/// <summary>Elementwise work that <see cref="ElementwiseParts"/> can split: it is told the part count, then asked for each part.</summary>
internal interface ISplitElementwise : IPartitionedWork
{
    void Prepare(int parts);
}

/// <summary>
/// Splits an elementwise pass over a flat buffer into ranges for the GEMM workers. Every element is computed by the
/// same arithmetic whichever range it falls in, so the result is the same bits on one core or several; ranges start
/// on whole SIMD vectors so the vector loop meets the same elements. Short buffers stay on the calling thread: handing
/// a part over costs a few microseconds.
/// </summary>
internal static class ElementwiseParts
{
    /// <summary>Elements below which a pass is not split: a shorter one finishes before another thread could take a part.</summary>
    public const int MinElementsPerPart = 32 * 1024;

    public static void Run(ISplitElementwise work, int length)
    {
        int parts = Math.Clamp(length / MinElementsPerPart, 1, CpuGemmWorkers.Shared.Width);
        work.Prepare(parts);
        if (parts == 1)
            work.RunPart(0);
        else
            CpuGemmWorkers.Shared.Run(work, parts);
    }

    /// <summary>
    /// Splits a pass over <paramref name="rows"/> rows of <paramref name="rowLength"/> elements into whole rows, by the
    /// same rule as <see cref="Run"/>: each row is computed by the same arithmetic whichever part it falls in.
    /// </summary>
    public static void RunRows(ISplitElementwise work, int rows, int rowLength)
    {
        int parts = (int)Math.Clamp((long)rows * rowLength / MinElementsPerPart, 1, Math.Max(1, Math.Min(rows, CpuGemmWorkers.Shared.Width)));
        work.Prepare(parts);
        if (parts <= 1)
            work.RunPart(0);
        else
            CpuGemmWorkers.Shared.Run(work, parts);
    }

    /// <summary>Rows [start, end) of part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    public static (int Start, int End) RowRange(int rows, int parts, int part) =>
        ((int)((long)rows * part / parts), (int)((long)rows * (part + 1) / parts));

    /// <summary>Part <paramref name="part"/> of <paramref name="parts"/>: [start, end), the start a whole number of float vectors in.</summary>
    public static (int Start, int End) Range(int length, int parts, int part)
    {
        int lanes = Vector<float>.Count;
        int vectors = length / lanes;
        int start = (int)((long)vectors * part / parts) * lanes;
        int end = part == parts - 1 ? length : (int)((long)vectors * (part + 1) / parts) * lanes;
        return (start, end);
    }
}
