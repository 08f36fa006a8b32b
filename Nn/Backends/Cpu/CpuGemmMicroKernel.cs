using System.Numerics;
using System.Runtime.CompilerServices;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// The register-blocked inner kernel of the packed path: an 8 x (2 lanes) tile of C held in 16 SIMD
/// accumulators while k runs, one broadcast of A times two loads of B per row and step (16 FMAs per step).
/// With 16 vector registers (AVX2 and narrower) 16 accumulators and 3 operands would spill to memory in every step,
/// so there the tile is computed as two passes of 4 rows over the same packed panels; each element of C still has its
/// own accumulator fed in the same order, so the bits are the same.
/// </summary>
internal static unsafe class CpuGemmMicroKernel
{
    /// <summary>Rows of C per tile (MR); the tile is 2 * TLane.Count columns wide (NR).</summary>
    public const int Rows = 8;

    /// <summary>
    /// tile = sum_p ap[p*8 + r] * bp[p*nr + c]; then C[r,c] = alpha * tile + beta * C[r,c] for the
    /// rows x cols corner that lies inside C (beta = 0: C is not read).
    /// </summary>
    [SkipLocalsInit]
    public static void Run<T, TLane>(int kc, T* ap, T* bp, T* c, int ldc, int rows, int cols, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        int w = TLane.Count;
        if (w * sizeof(T) < 64)
        {
            RunFourRows<T, TLane>(kc, ap, bp, c, ldc, Math.Min(rows, 4), cols, alpha, beta);
            if (rows > 4)
                RunFourRows<T, TLane>(kc, ap + 4, bp, c + 4 * ldc, ldc, rows - 4, cols, alpha, beta);
            return;
        }
        TLane c00 = TLane.Zero, c01 = TLane.Zero, c10 = TLane.Zero, c11 = TLane.Zero;
        TLane c20 = TLane.Zero, c21 = TLane.Zero, c30 = TLane.Zero, c31 = TLane.Zero;
        TLane c40 = TLane.Zero, c41 = TLane.Zero, c50 = TLane.Zero, c51 = TLane.Zero;
        TLane c60 = TLane.Zero, c61 = TLane.Zero, c70 = TLane.Zero, c71 = TLane.Zero;
        for (int p = 0; p < kc; p++, ap += Rows, bp += 2 * w)
        {
            TLane b0 = TLane.Load(bp), b1 = TLane.Load(bp + w);
            TLane a = TLane.Broadcast(ap[0]);
            c00 = TLane.MultiplyAdd(a, b0, c00); c01 = TLane.MultiplyAdd(a, b1, c01);
            a = TLane.Broadcast(ap[1]);
            c10 = TLane.MultiplyAdd(a, b0, c10); c11 = TLane.MultiplyAdd(a, b1, c11);
            a = TLane.Broadcast(ap[2]);
            c20 = TLane.MultiplyAdd(a, b0, c20); c21 = TLane.MultiplyAdd(a, b1, c21);
            a = TLane.Broadcast(ap[3]);
            c30 = TLane.MultiplyAdd(a, b0, c30); c31 = TLane.MultiplyAdd(a, b1, c31);
            a = TLane.Broadcast(ap[4]);
            c40 = TLane.MultiplyAdd(a, b0, c40); c41 = TLane.MultiplyAdd(a, b1, c41);
            a = TLane.Broadcast(ap[5]);
            c50 = TLane.MultiplyAdd(a, b0, c50); c51 = TLane.MultiplyAdd(a, b1, c51);
            a = TLane.Broadcast(ap[6]);
            c60 = TLane.MultiplyAdd(a, b0, c60); c61 = TLane.MultiplyAdd(a, b1, c61);
            a = TLane.Broadcast(ap[7]);
            c70 = TLane.MultiplyAdd(a, b0, c70); c71 = TLane.MultiplyAdd(a, b1, c71);
        }

        if (rows == Rows && cols == 2 * w)
        {
            TLane va = TLane.Broadcast(alpha), vb = TLane.Broadcast(beta);
            bool overwrite = beta == T.Zero;
            StoreRow(c, w, c00, c01, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c10, c11, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c20, c21, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c30, c31, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c40, c41, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c50, c51, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c60, c61, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c70, c71, va, vb, overwrite);
            return;
        }

        // Edge tile: spill the accumulators and write only the part inside C.
        int nr = 2 * w;
        T* tile = stackalloc T[Rows * nr];
        Spill(tile, w, c00, c01); Spill(tile + nr, w, c10, c11);
        Spill(tile + 2 * nr, w, c20, c21); Spill(tile + 3 * nr, w, c30, c31);
        Spill(tile + 4 * nr, w, c40, c41); Spill(tile + 5 * nr, w, c50, c51);
        Spill(tile + 6 * nr, w, c60, c61); Spill(tile + 7 * nr, w, c70, c71);
        WriteCorner(tile, nr, c, ldc, rows, cols, alpha, beta);
    }

    /// <summary>Rows [0, 4) of a packed panel (ap's rows still <see cref="Rows"/> apart): 8 accumulators and 3 operands.</summary>
    [SkipLocalsInit]
    private static void RunFourRows<T, TLane>(int kc, T* ap, T* bp, T* c, int ldc, int rows, int cols, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        int w = TLane.Count;
        TLane c00 = TLane.Zero, c01 = TLane.Zero, c10 = TLane.Zero, c11 = TLane.Zero;
        TLane c20 = TLane.Zero, c21 = TLane.Zero, c30 = TLane.Zero, c31 = TLane.Zero;
        // Two steps of k per trip, then the odd last one: the loop's own counting and jumping took a fifth of the
        // instructions the core can issue a cycle, and unrolled the kernel ran 6-9% faster single-threaded (the input
        // gradient at batch 2,048). A break between the two halves instead of the separate last step kept the
        // accumulators out of registers and was twice as slow.
        int p = 0;
        for (; p + 1 < kc; p += 2, ap += 2 * Rows, bp += 4 * w)
        {
            TLane b0 = TLane.Load(bp), b1 = TLane.Load(bp + w);
            TLane a = TLane.Broadcast(ap[0]);
            c00 = TLane.MultiplyAdd(a, b0, c00); c01 = TLane.MultiplyAdd(a, b1, c01);
            a = TLane.Broadcast(ap[1]);
            c10 = TLane.MultiplyAdd(a, b0, c10); c11 = TLane.MultiplyAdd(a, b1, c11);
            a = TLane.Broadcast(ap[2]);
            c20 = TLane.MultiplyAdd(a, b0, c20); c21 = TLane.MultiplyAdd(a, b1, c21);
            a = TLane.Broadcast(ap[3]);
            c30 = TLane.MultiplyAdd(a, b0, c30); c31 = TLane.MultiplyAdd(a, b1, c31);
            b0 = TLane.Load(bp + 2 * w); b1 = TLane.Load(bp + 3 * w);
            a = TLane.Broadcast(ap[Rows]);
            c00 = TLane.MultiplyAdd(a, b0, c00); c01 = TLane.MultiplyAdd(a, b1, c01);
            a = TLane.Broadcast(ap[Rows + 1]);
            c10 = TLane.MultiplyAdd(a, b0, c10); c11 = TLane.MultiplyAdd(a, b1, c11);
            a = TLane.Broadcast(ap[Rows + 2]);
            c20 = TLane.MultiplyAdd(a, b0, c20); c21 = TLane.MultiplyAdd(a, b1, c21);
            a = TLane.Broadcast(ap[Rows + 3]);
            c30 = TLane.MultiplyAdd(a, b0, c30); c31 = TLane.MultiplyAdd(a, b1, c31);
        }
        if (p < kc)
        {
            TLane b0 = TLane.Load(bp), b1 = TLane.Load(bp + w);
            TLane a = TLane.Broadcast(ap[0]);
            c00 = TLane.MultiplyAdd(a, b0, c00); c01 = TLane.MultiplyAdd(a, b1, c01);
            a = TLane.Broadcast(ap[1]);
            c10 = TLane.MultiplyAdd(a, b0, c10); c11 = TLane.MultiplyAdd(a, b1, c11);
            a = TLane.Broadcast(ap[2]);
            c20 = TLane.MultiplyAdd(a, b0, c20); c21 = TLane.MultiplyAdd(a, b1, c21);
            a = TLane.Broadcast(ap[3]);
            c30 = TLane.MultiplyAdd(a, b0, c30); c31 = TLane.MultiplyAdd(a, b1, c31);
        }

        if (rows == 4 && cols == 2 * w)
        {
            TLane va = TLane.Broadcast(alpha), vb = TLane.Broadcast(beta);
            bool overwrite = beta == T.Zero;
            StoreRow(c, w, c00, c01, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c10, c11, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c20, c21, va, vb, overwrite); c += ldc;
            StoreRow(c, w, c30, c31, va, vb, overwrite);
            return;
        }

        int nr = 2 * w;
        T* tile = stackalloc T[4 * nr];
        Spill(tile, w, c00, c01); Spill(tile + nr, w, c10, c11);
        Spill(tile + 2 * nr, w, c20, c21); Spill(tile + 3 * nr, w, c30, c31);
        WriteCorner(tile, nr, c, ldc, rows, cols, alpha, beta);
    }

    /// <summary>C[r, j] = alpha * tile[r, j] + beta * C[r, j] for the rows x cols corner inside C (beta = 0: C not read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteCorner<T>(T* tile, int nr, T* c, int ldc, int rows, int cols, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++, c += ldc)
            for (int j = 0; j < cols; j++)
                c[j] = beta == T.Zero
                    ? alpha * tile[r * nr + j]
                    : T.FusedMultiplyAdd(beta, c[j], alpha * tile[r * nr + j]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, TLane>(T* c, int w, TLane acc0, TLane acc1, TLane alpha, TLane beta, bool overwrite)
        where T : unmanaged
        where TLane : struct, ISimdLane<T, TLane>
    {
        TLane r0 = TLane.Multiply(alpha, acc0), r1 = TLane.Multiply(alpha, acc1);
        if (!overwrite)
        {
            r0 = TLane.MultiplyAdd(beta, TLane.Load(c), r0);
            r1 = TLane.MultiplyAdd(beta, TLane.Load(c + w), r1);
        }
        TLane.Store(r0, c);
        TLane.Store(r1, c + w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spill<T, TLane>(T* row, int w, TLane acc0, TLane acc1)
        where T : unmanaged
        where TLane : struct, ISimdLane<T, TLane>
    {
        TLane.Store(acc0, row);
        TLane.Store(acc1, row + w);
    }
}
