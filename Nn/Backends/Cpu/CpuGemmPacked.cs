using System.Numerics;
using System.Runtime.CompilerServices;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// The cache-blocked path (Goto/BLIS order): for each block of columns and of k, pack op(B) once;
/// for each block of rows pack op(A); then sweep the micro-kernel over the tiles. Single-threaded:
/// <see cref="CpuGemmParallel"/> hands each thread its own disjoint block of C, and packs once beforehand the
/// operand every block reads whole (see <see cref="Run{T, TLane}(in GemmProblem{T}, T*, T*)"/>).
/// </summary>
internal static unsafe class CpuGemmPacked
{
    /// <summary>
    /// Most k per block (KC): a packed B micro-panel (KC x 2 lanes) stays in L1 across the row sweep. k is cut into
    /// equal blocks of at most this many (784 into 4 x 196, not 3 x 256 and a last block of 16, whose micro-kernel calls
    /// would spend more on loading and storing C than on multiplying).
    /// </summary>
    public const int KBlock = 256;

    /// <summary>k per block for a reduction of length <paramref name="k"/>: the fewest blocks of at most <see cref="KBlock"/>, of equal length.</summary>
    public static int KBlockFor(int k)
    {
        int blocks = Math.Max(1, (k + KBlock - 1) / KBlock);
        return (k + blocks - 1) / blocks;
    }

    /// <summary>Rows per block (MC): a packed A block (MC x KC) stays in L2.</summary>
    public const int MBlock = 128;

    /// <summary>Columns per block (NC), about 512 KiB of packed B.</summary>
    public static int NBlock<T>() where T : unmanaged => 2048 / sizeof(T);

    /// <summary>
    /// C = alpha * op(A) * op(B) + beta * C for the whole of <paramref name="g"/>. <paramref name="packedA"/>, when
    /// given, is all of op(A) packed ahead (<see cref="CpuGemmPacking.PackA{T}"/> over every row and the whole of k:
    /// panel i / mr starts at i * K), and likewise <paramref name="packedB"/> for op(B) (panel j / nr at j * K); a block
    /// of either is then read where it lies instead of being packed again. The arithmetic is the same either way, and
    /// so is the order of the k blocks each element of C sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T, TLane>(in GemmProblem<T> g, T* packedA = null, T* packedB = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        int nBlock = NBlock<T>(), kBlock = KBlockFor(g.K);
        var buffers = CpuGemmBuffers<T>.ForCurrentThread(MBlock * KBlock, KBlock * nBlock);
        T* a = packedA != null ? packedA : buffers.PackedA, b = packedB != null ? packedB : buffers.PackedB;
        for (int jc = 0; jc < g.N; jc += nBlock)
        {
            int nc = Math.Min(nBlock, g.N - jc);
            if (packedB != null)
            {
                // op(B) is packed already (a block of rows of a larger product): take each block of A's rows through
                // every k block while it is in cache, so A (the forward's input, the largest operand) is read once.
                for (int ic = 0; ic < g.M; ic += MBlock)
                    for (int pc = 0; pc < g.K; pc += kBlock)
                        Block<T, TLane>(g, ic, jc, nc, pc, Math.Min(kBlock, g.K - pc), a, packedA != null, b, true);
                continue;
            }
            // Goto's order: a block of op(B) packed once per k block, the rows of A streaming past it.
            for (int pc = 0; pc < g.K; pc += kBlock)
            {
                int kc = Math.Min(kBlock, g.K - pc);
                CpuGemmPacking.PackB<T, TLane>(g, jc, nc, pc, kc, buffers.PackedB);
                for (int ic = 0; ic < g.M; ic += MBlock)
                    Block<T, TLane>(g, ic, jc, nc, pc, kc, a, packedA != null, b, false);
            }
        }
    }

    /// <summary>
    /// C[ic.., jc..jc+nc] (+)= the product over k block [pc, pc+kc): packs A's block unless <paramref name="aWhole"/>
    /// (all of op(A) packed at <paramref name="a"/>), then sweeps the micro-kernel over the tiles. B is the block
    /// packed at <paramref name="b"/>, or all of op(B) there when <paramref name="bWhole"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<T, TLane>(in GemmProblem<T> g, int ic, int jc, int nc, int pc, int kc, T* a, bool aWhole, T* b, bool bWhole)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        const int mr = CpuGemmMicroKernel.Rows;
        int nr = 2 * TLane.Count, mc = Math.Min(MBlock, g.M - ic);
        // Later k blocks add onto what the first one wrote; the block order is fixed by k alone.
        T beta = pc == 0 ? g.Beta : T.One;
        if (!aWhole)
            CpuGemmPacking.PackA(g, ic, mc, pc, kc, a);
        for (int jr = 0; jr < nc; jr += nr)
        {
            T* bp = bWhole ? b + (long)(jc + jr) * g.K + (long)pc * nr : b + (long)jr * kc;
            int cols = Math.Min(nr, nc - jr);
            for (int ir = 0; ir < mc; ir += mr)
            {
                T* ap = aWhole ? a + (long)(ic + ir) * g.K + (long)pc * mr : a + (long)ir * kc;
                CpuGemmMicroKernel.Run<T, TLane>(kc, ap, bp, g.C + (long)(ic + ir) * g.Ldc + jc + jr, g.Ldc,
                    Math.Min(mr, mc - ir), cols, g.Alpha, beta);
            }
        }
    }
}
