using System.Numerics;
using System.Runtime.CompilerServices;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// The path for C = op(A) * B^T with A untransposed and a handful of rows, the Linear forward pass of a few samples
/// (x[B,in] * W[out,in]^T, B &lt; <see cref="PackedFromRows"/>):
/// both operands are already contiguous along k, so instead of packing (a transpose of both) each
/// 4 x 4 tile of C is 16 SIMD dot products over the rows, reduced across lanes once at the end. With fewer than
/// 32 vector registers (AVX2 and narrower: 16) the 16 accumulators and 5 operands would spill, so there a tile is
/// computed as two 4 x 2 halves. Every element of C has its own accumulator either way, so the bits are the same.
/// The loops are compiled fully optimized at their first call (AggressiveOptimization), as the packed path's are: .NET's
/// first, unoptimized code of them calls every vector operation as a method and is many times slower, and at a large
/// batch the first epoch calls them too few times to be recompiled before it ends.
/// </summary>
internal static unsafe class CpuGemmDotKernel
{
    /// <summary>Rows and columns of C per tile.</summary>
    public const int Tile = 4;

    /// <summary>
    /// Rows of C from which the packed path is faster even here. Below it (one image at a time, a few) packing B
    /// costs more than the dot products; from it the packed path's micro-kernel keeps more of the FMA units busy (the
    /// MLP's forward layers with 2 threads, AVX2, the two paths alternating in one process: 784-128 at 1 row 17 against
    /// 40 µs, at 8 rows 31 and 31 µs, at 64 rows 155 against 119 µs, at 256 rows 560 against 439 µs; 128-64 at 256 rows
    /// 145 against 50 µs). A fixed count of rows, never of threads, so the bits do not depend on the machine's width.
    /// </summary>
    public const int PackedFromRows = 8;

    /// <summary>
    /// Whether this path applies: op(A) = A, op(B) = B^T, k long enough to fill several lanes, and fewer rows than
    /// <see cref="PackedFromRows"/>.
    /// </summary>
    public static bool Suits<T, TLane>(in GemmProblem<T> g)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane> =>
        !g.TransA && g.TransB && g.K >= 4 * TLane.Count && g.M < PackedFromRows;

    /// <summary>C[i,j] = alpha * sum_p A[i,p] * B[j,p] + beta * C[i,j] over the whole of <paramref name="g"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T, TLane>(in GemmProblem<T> g)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        // Fewer than PackedFromRows rows: each four rows of B are read once and meet every row of A.
        for (int j = 0; j < g.N; j += Tile)
            for (int i = 0; i < g.M; i += Tile)
                RunTile<T, TLane>(g, i, j);
    }

    /// <summary>The tile of C at rows [i, i+4), columns [j, j+4), or the part of it inside C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunTile<T, TLane>(in GemmProblem<T> g, int i, int j)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        if (i + Tile <= g.M && j + Tile <= g.N)
        {
            Tile4x4<T, TLane>(g, i, j);
            return;
        }
        for (int r = i; r < Math.Min(i + Tile, g.M); r++)
            for (int s = j; s < Math.Min(j + Tile, g.N); s++)
                Write(g, r, s, Dot<T, TLane>(g.A + (long)r * g.Lda, g.B + (long)s * g.Ldb, g.K));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4<T, TLane>(in GemmProblem<T> g, int i, int j)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        if (TLane.Count * sizeof(T) < 64)
        {
            Tile4x2<T, TLane>(g, i, j);
            Tile4x2<T, TLane>(g, i, j + 2);
            return;
        }
        int w = TLane.Count, k = g.K, kv = k - k % w;
        T* a0 = g.A + (long)i * g.Lda, a1 = a0 + g.Lda, a2 = a1 + g.Lda, a3 = a2 + g.Lda;
        T* b0 = g.B + (long)j * g.Ldb, b1 = b0 + g.Ldb, b2 = b1 + g.Ldb, b3 = b2 + g.Ldb;
        TLane s00 = TLane.Zero, s01 = TLane.Zero, s02 = TLane.Zero, s03 = TLane.Zero;
        TLane s10 = TLane.Zero, s11 = TLane.Zero, s12 = TLane.Zero, s13 = TLane.Zero;
        TLane s20 = TLane.Zero, s21 = TLane.Zero, s22 = TLane.Zero, s23 = TLane.Zero;
        TLane s30 = TLane.Zero, s31 = TLane.Zero, s32 = TLane.Zero, s33 = TLane.Zero;
        for (int p = 0; p < kv; p += w)
        {
            TLane x0 = TLane.Load(a0 + p), x1 = TLane.Load(a1 + p), x2 = TLane.Load(a2 + p), x3 = TLane.Load(a3 + p);
            TLane y = TLane.Load(b0 + p);
            s00 = TLane.MultiplyAdd(x0, y, s00); s10 = TLane.MultiplyAdd(x1, y, s10);
            s20 = TLane.MultiplyAdd(x2, y, s20); s30 = TLane.MultiplyAdd(x3, y, s30);
            y = TLane.Load(b1 + p);
            s01 = TLane.MultiplyAdd(x0, y, s01); s11 = TLane.MultiplyAdd(x1, y, s11);
            s21 = TLane.MultiplyAdd(x2, y, s21); s31 = TLane.MultiplyAdd(x3, y, s31);
            y = TLane.Load(b2 + p);
            s02 = TLane.MultiplyAdd(x0, y, s02); s12 = TLane.MultiplyAdd(x1, y, s12);
            s22 = TLane.MultiplyAdd(x2, y, s22); s32 = TLane.MultiplyAdd(x3, y, s32);
            y = TLane.Load(b3 + p);
            s03 = TLane.MultiplyAdd(x0, y, s03); s13 = TLane.MultiplyAdd(x1, y, s13);
            s23 = TLane.MultiplyAdd(x2, y, s23); s33 = TLane.MultiplyAdd(x3, y, s33);
        }
        // Every lane sum before any call: a vector still needed after a call would be spilled at each step of the loop.
        T r00 = TLane.Sum(s00), r01 = TLane.Sum(s01), r02 = TLane.Sum(s02), r03 = TLane.Sum(s03);
        T r10 = TLane.Sum(s10), r11 = TLane.Sum(s11), r12 = TLane.Sum(s12), r13 = TLane.Sum(s13);
        T r20 = TLane.Sum(s20), r21 = TLane.Sum(s21), r22 = TLane.Sum(s22), r23 = TLane.Sum(s23);
        T r30 = TLane.Sum(s30), r31 = TLane.Sum(s31), r32 = TLane.Sum(s32), r33 = TLane.Sum(s33);
        Write(g, i, j, Finish(r00, a0, b0, kv, k)); Write(g, i, j + 1, Finish(r01, a0, b1, kv, k));
        Write(g, i, j + 2, Finish(r02, a0, b2, kv, k)); Write(g, i, j + 3, Finish(r03, a0, b3, kv, k));
        Write(g, i + 1, j, Finish(r10, a1, b0, kv, k)); Write(g, i + 1, j + 1, Finish(r11, a1, b1, kv, k));
        Write(g, i + 1, j + 2, Finish(r12, a1, b2, kv, k)); Write(g, i + 1, j + 3, Finish(r13, a1, b3, kv, k));
        Write(g, i + 2, j, Finish(r20, a2, b0, kv, k)); Write(g, i + 2, j + 1, Finish(r21, a2, b1, kv, k));
        Write(g, i + 2, j + 2, Finish(r22, a2, b2, kv, k)); Write(g, i + 2, j + 3, Finish(r23, a2, b3, kv, k));
        Write(g, i + 3, j, Finish(r30, a3, b0, kv, k)); Write(g, i + 3, j + 1, Finish(r31, a3, b1, kv, k));
        Write(g, i + 3, j + 2, Finish(r32, a3, b2, kv, k)); Write(g, i + 3, j + 3, Finish(r33, a3, b3, kv, k));
    }

    /// <summary>Rows [i, i+4), columns [j, j+2): 8 accumulators and 5 operands, which 16 registers hold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x2<T, TLane>(in GemmProblem<T> g, int i, int j)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        int w = TLane.Count, k = g.K, kv = k - k % w;
        T* a0 = g.A + (long)i * g.Lda, a1 = a0 + g.Lda, a2 = a1 + g.Lda, a3 = a2 + g.Lda;
        T* b0 = g.B + (long)j * g.Ldb, b1 = b0 + g.Ldb;
        TLane s00 = TLane.Zero, s01 = TLane.Zero, s10 = TLane.Zero, s11 = TLane.Zero;
        TLane s20 = TLane.Zero, s21 = TLane.Zero, s30 = TLane.Zero, s31 = TLane.Zero;
        for (int p = 0; p < kv; p += w)
        {
            TLane y0 = TLane.Load(b0 + p), y1 = TLane.Load(b1 + p);
            TLane x = TLane.Load(a0 + p);
            s00 = TLane.MultiplyAdd(x, y0, s00); s01 = TLane.MultiplyAdd(x, y1, s01);
            x = TLane.Load(a1 + p);
            s10 = TLane.MultiplyAdd(x, y0, s10); s11 = TLane.MultiplyAdd(x, y1, s11);
            x = TLane.Load(a2 + p);
            s20 = TLane.MultiplyAdd(x, y0, s20); s21 = TLane.MultiplyAdd(x, y1, s21);
            x = TLane.Load(a3 + p);
            s30 = TLane.MultiplyAdd(x, y0, s30); s31 = TLane.MultiplyAdd(x, y1, s31);
        }
        // Every lane sum before any call: a vector still needed after a call would be spilled at each step of the loop.
        T r00 = TLane.Sum(s00), r01 = TLane.Sum(s01), r10 = TLane.Sum(s10), r11 = TLane.Sum(s11);
        T r20 = TLane.Sum(s20), r21 = TLane.Sum(s21), r30 = TLane.Sum(s30), r31 = TLane.Sum(s31);
        Write(g, i, j, Finish(r00, a0, b0, kv, k)); Write(g, i, j + 1, Finish(r01, a0, b1, kv, k));
        Write(g, i + 1, j, Finish(r10, a1, b0, kv, k)); Write(g, i + 1, j + 1, Finish(r11, a1, b1, kv, k));
        Write(g, i + 2, j, Finish(r20, a2, b0, kv, k)); Write(g, i + 2, j + 1, Finish(r21, a2, b1, kv, k));
        Write(g, i + 3, j, Finish(r30, a3, b0, kv, k)); Write(g, i + 3, j + 1, Finish(r31, a3, b1, kv, k));
    }

    /// <summary>One dot product with a single accumulator, for the ragged edge of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Dot<T, TLane>(T* a, T* b, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        int w = TLane.Count, kv = k - k % w;
        TLane s = TLane.Zero;
        for (int p = 0; p < kv; p += w)
            s = TLane.MultiplyAdd(TLane.Load(a + p), TLane.Load(b + p), s);
        return Finish(TLane.Sum(s), a, b, kv, k);
    }

    /// <summary>
    /// The sum of the lanes (taken by the caller: handing the vector itself to a call would keep every accumulator in
    /// memory instead of registers when this is not inlined), then the k % lanes leftover products in order.
    /// </summary>
    private static T Finish<T>(T sum, T* a, T* b, int kv, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int p = kv; p < k; p++)
            sum = T.FusedMultiplyAdd(a[p], b[p], sum);
        return sum;
    }

    private static void Write<T>(in GemmProblem<T> g, int i, int j, T dot)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* c = g.C + (long)i * g.Ldc + j;
        *c = g.Beta == T.Zero ? g.Alpha * dot : T.FusedMultiplyAdd(g.Beta, *c, g.Alpha * dot);
    }
}
