using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous, zero-padded panel order the micro-kernel
/// streams through, so the kernel never sees a stride, a transpose or a ragged edge. Packing is a copy, but a slow
/// one costs as much as the arithmetic it feeds (a panel of A is used by only N / 16 micro-kernel calls): where a panel
/// is a transpose of the stored matrix, float32 goes through 8 x 8 transposes in AVX registers, and where it is not,
/// rows are copied whole.
/// </summary>
internal static unsafe class CpuGemmPacking
{
    /// <summary>
    /// Packs op(A)[i0..i0+mc, p0..p0+kc] as panels of <see cref="CpuGemmMicroKernel.Rows"/> (mr) rows; within a
    /// panel, element (r, p) lands at p * mr + r. Rows past mc are zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<T>(in GemmProblem<T> g, int i0, int mc, int p0, int kc, T* dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int mr = CpuGemmMicroKernel.Rows;
        for (int ib = 0; ib < mc; ib += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, mc - ib);
            if (g.TransA)
            {
                // op(A) rows are contiguous in memory along i here: a whole panel's step is one copy of mr elements.
                for (int p = 0; p < kc; p++)
                {
                    T* src = g.APtr(i0 + ib, p0 + p);
                    T* d = dst + p * mr;
                    if (rows == mr)
                    {
                        Unsafe.CopyBlockUnaligned(d, src, (uint)(mr * sizeof(T)));
                        continue;
                    }
                    for (int r = 0; r < rows; r++)
                        d[r] = src[r];
                    for (int r = rows; r < mr; r++)
                        d[r] = T.Zero;
                }
                continue;
            }
            int p8 = 0;
            // The transpose writes panels of eight rows: the check is folded away while the micro-kernel's tile is 8 high.
            if (mr == 8 && rows == mr && typeof(T) == typeof(float) && Avx.IsSupported)
                for (; p8 + 8 <= kc; p8 += 8)
                    Transpose8x8((float*)g.APtr(i0 + ib, p0 + p8), g.Lda, (float*)(dst + p8 * mr), mr);
            for (int r = 0; r < rows; r++)
            {
                T* src = g.APtr(i0 + ib + r, p0);
                for (int p = p8; p < kc; p++)
                    dst[p * mr + r] = src[p];
            }
            for (int r = rows; r < mr; r++)
                for (int p = 0; p < kc; p++)
                    dst[p * mr + r] = T.Zero;
        }
    }

    /// <summary>
    /// Packs op(B)[p0..p0+kc, j0..j0+nc] as panels of 2 * TLane.Count columns; within a panel,
    /// element (p, c) lands at p * nr + c. Columns past nc are zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<T, TLane>(in GemmProblem<T> g, int j0, int nc, int p0, int kc, T* dst)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        int w = TLane.Count, nr = 2 * w;
        if (!g.TransB)
        {
            // Row by row: each row's part of the block is read from start to end and its pieces scattered to their
            // panels. Read panel by panel, every 64-byte piece is in another row and page, which the hardware
            // prefetcher does not follow (the weight gradient's 8,192 x 784 input: 3-4% of the GEMM, measured).
            int whole = nc - nc % nr;
            for (int p = 0; p < kc; p++)
            {
                T* src = g.BPtr(p0 + p, j0);
                T* d = dst + p * nr;
                for (int jb = 0; jb < whole; jb += nr, d += kc * nr)
                {
                    TLane.Store(TLane.Load(src + jb), d);
                    TLane.Store(TLane.Load(src + jb + w), d + w);
                }
            }
            if (whole == nc)
                return;
            j0 += whole;
            nc -= whole;
            dst += (long)whole * kc;
        }
        for (int jb = 0; jb < nc; jb += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - jb);
            if (!g.TransB)
            {
                // The ragged last panel (whole ones were packed above).
                for (int p = 0; p < kc; p++)
                {
                    T* src = g.BPtr(p0 + p, j0 + jb);
                    T* d = dst + p * nr;
                    for (int c = 0; c < cols; c++)
                        d[c] = src[c];
                    for (int c = cols; c < nr; c++)
                        d[c] = T.Zero;
                }
            }
            else
            {
                int p8 = 0;
                if (cols == nr && nr % 8 == 0 && typeof(T) == typeof(float) && Avx.IsSupported)
                    for (; p8 + 8 <= kc; p8 += 8)
                        for (int c8 = 0; c8 < nr; c8 += 8)
                            Transpose8x8((float*)g.BPtr(p0 + p8, j0 + jb + c8), g.Ldb, (float*)(dst + p8 * nr + c8), nr);
                for (int c = 0; c < cols; c++)
                {
                    T* src = g.BPtr(p0, j0 + jb + c);
                    for (int p = p8; p < kc; p++)
                        dst[p * nr + c] = src[p];
                }
                for (int c = cols; c < nr; c++)
                    for (int p = 0; p < kc; p++)
                        dst[p * nr + c] = T.Zero;
            }
        }
    }

    /// <summary>
    /// dst[c * dstStride + r] = src[r * srcStride + c] for an 8 x 8 block of floats: eight rows in, eight columns out,
    /// by pairing rows (unpack), then pairs of pairs (shuffle), then swapping the 128-bit halves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, int srcStride, float* dst, int dstStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
        // Row pairs: (a0 b0 a1 b1 | a4 b4 a5 b5) and (a2 b2 a3 b3 | a6 b6 a7 b7), likewise c-d, e-f, g-h.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // Four rows' column j in each half: (a0 b0 c0 d0 | a4 b4 c4 d4), ...
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
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
