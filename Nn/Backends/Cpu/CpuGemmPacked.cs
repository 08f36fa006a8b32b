using System.Numerics;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// The cache-blocked path (Goto/BLIS order): for each block of columns and of k, pack op(B) once;
/// for each block of rows pack op(A); then sweep the micro-kernel over the tiles. Single-threaded:
/// <see cref="CpuGemmParallel"/> hands each thread its own disjoint block of C.
/// </summary>
internal static unsafe class CpuGemmPacked
{
    /// <summary>k per block (KC): a packed B micro-panel (KC x 2 lanes) stays in L1 across the row sweep.</summary>
    public const int KBlock = 256;

    /// <summary>Rows per block (MC): a packed A block (MC x KC) stays in L2.</summary>
    public const int MBlock = 128;

    /// <summary>Columns per block (NC), about 512 KiB of packed B.</summary>
    public static int NBlock<T>() where T : unmanaged => 2048 / sizeof(T);

    /// <summary>C = alpha * op(A) * op(B) + beta * C for the whole of <paramref name="g"/>.</summary>
    public static void Run<T, TLane>(in GemmProblem<T> g)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TLane : struct, ISimdLane<T, TLane>
    {
        const int mr = CpuGemmMicroKernel.Rows;
        int nr = 2 * TLane.Count, nBlock = NBlock<T>();
        var buffers = CpuGemmBuffers<T>.ForCurrentThread(MBlock * KBlock, KBlock * nBlock);
        for (int jc = 0; jc < g.N; jc += nBlock)
        {
            int nc = Math.Min(nBlock, g.N - jc);
            for (int pc = 0; pc < g.K; pc += KBlock)
            {
                int kc = Math.Min(KBlock, g.K - pc);
                // Later k blocks add onto what the first one wrote; the block order is fixed by k alone.
                T beta = pc == 0 ? g.Beta : T.One;
                CpuGemmPacking.PackB<T, TLane>(g, jc, nc, pc, kc, buffers.PackedB);
                for (int ic = 0; ic < g.M; ic += MBlock)
                {
                    int mc = Math.Min(MBlock, g.M - ic);
                    CpuGemmPacking.PackA(g, ic, mc, pc, kc, mr, buffers.PackedA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        T* bp = buffers.PackedB + (long)jr * kc;
                        int cols = Math.Min(nr, nc - jr);
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            T* c = g.C + (long)(ic + ir) * g.Ldc + jc + jr;
                            CpuGemmMicroKernel.Run<T, TLane>(kc, buffers.PackedA + (long)ir * kc, bp, c, g.Ldc,
                                Math.Min(mr, mc - ir), cols, g.Alpha, beta);
                        }
                    }
                }
            }
        }
    }
}
