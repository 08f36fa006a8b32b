using System.Numerics;
using System.Runtime.InteropServices;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous, zero-padded panel order the micro-kernel
/// streams through, so the kernel never sees a stride, a transpose or a ragged edge.
/// </summary>
internal static unsafe class CpuGemmPacking
{
    /// <summary>
    /// Packs op(A)[i0..i0+mc, p0..p0+kc] as panels of <paramref name="mr"/> rows; within a panel,
    /// element (r, p) lands at p * mr + r. Rows past mc are zeros.
    /// </summary>
    public static void PackA<T>(in GemmProblem<T> g, int i0, int mc, int p0, int kc, int mr, T* dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int ib = 0; ib < mc; ib += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, mc - ib);
            if (g.TransA)
            {
                // op(A) rows are contiguous in memory along i here: copy mr at a time.
                for (int p = 0; p < kc; p++)
                {
                    T* src = g.APtr(i0 + ib, p0 + p);
                    T* d = dst + p * mr;
                    for (int r = 0; r < rows; r++)
                        d[r] = src[r];
                    for (int r = rows; r < mr; r++)
                        d[r] = T.Zero;
                }
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    T* src = g.APtr(i0 + ib + r, p0);
                    for (int p = 0; p < kc; p++)
                        dst[p * mr + r] = src[p];
                }
                for (int r = rows; r < mr; r++)
                    for (int p = 0; p < kc; p++)
                        dst[p * mr + r] = T.Zero;
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p0..p0+kc, j0..j0+nc] as panels of 2 * TLane.Count columns; within a panel,
    /// element (p, c) lands at p * nr + c. Columns past nc are zeros.
    /// </summary>
    public static void PackB<T, TLane>(in GemmProblem<T> g, int j0, int nc, int p0, int kc, T* dst)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        int w = TLane.Count, nr = 2 * w;
        for (int jb = 0; jb < nc; jb += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - jb);
            if (!g.TransB)
            {
                for (int p = 0; p < kc; p++)
                {
                    T* src = g.BPtr(p0 + p, j0 + jb);
                    T* d = dst + p * nr;
                    if (cols == nr)
                    {
                        TLane.Store(TLane.Load(src), d);
                        TLane.Store(TLane.Load(src + w), d + w);
                        continue;
                    }
                    for (int c = 0; c < cols; c++)
                        d[c] = src[c];
                    for (int c = cols; c < nr; c++)
                        d[c] = T.Zero;
                }
            }
            else
            {
                for (int c = 0; c < cols; c++)
                {
                    T* src = g.BPtr(p0, j0 + jb + c);
                    for (int p = 0; p < kc; p++)
                        dst[p * nr + c] = src[p];
                }
                for (int c = cols; c < nr; c++)
                    for (int p = 0; p < kc; p++)
                        dst[p * nr + c] = T.Zero;
            }
        }
    }
}

/// <summary>
/// Per-thread packing buffers, allocated once per thread and element type at the largest block size,
/// cache-line aligned; so a GEMM call in steady state allocates nothing.
/// </summary>
internal sealed unsafe class CpuGemmBuffers<T> where T : unmanaged
{
    [ThreadStatic]
    private static CpuGemmBuffers<T>? s_current;

    public readonly T* PackedA;
    public readonly T* PackedB;

    private CpuGemmBuffers(int aElements, int bElements)
    {
        PackedA = (T*)NativeMemory.AlignedAlloc((nuint)(aElements * sizeof(T)), 64);
        PackedB = (T*)NativeMemory.AlignedAlloc((nuint)(bElements * sizeof(T)), 64);
    }

    /// <summary>This thread's buffers; sizes are fixed by the blocking constants, so one allocation serves every call.</summary>
    public static CpuGemmBuffers<T> ForCurrentThread(int aElements, int bElements) =>
        s_current ??= new CpuGemmBuffers<T>(aElements, bElements);

    // Runs when the owning thread has died and nothing else can reach the buffers.
    ~CpuGemmBuffers()
    {
        NativeMemory.AlignedFree(PackedA);
        NativeMemory.AlignedFree(PackedB);
    }
}
