using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace CudaNn.Bench;

/// <summary>
/// `Nn.Bench cpu-gemm [--quick]`: the CPU backend's GEMMs at the MLP's three shapes (forward x·Wᵀ, input gradient
/// dy·W, weight gradient dyᵀ·x of fc1, 784-128) at batch 64 to 8,192, as GFLOP/s and as a share of this machine's FMA
/// peak, measured first: every core running independent chains of fused multiply-adds of the widest vectors it has.
/// Each shape is warmed up until its optimized code runs, then timed over and over for 1.5 s: the fastest timing is
/// what the code can do (on a shared machine, the one least disturbed by other work), the median what a run sees.
/// </summary>
public static class CpuGemmPeak
{
    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        bool quick = args.Contains("--quick");
        if (args.Any(a => a != "--quick"))
        {
            output.WriteLine("usage: Nn.Bench cpu-gemm [--quick]");
            return 2;
        }
        int threads = Environment.ProcessorCount;
        double peak = FmaPeak(threads, quick ? 1 : 3);
        output.WriteLine($"## Nn.Bench cpu-gemm: {threads} threads, {Vector<float>.Count * 32}-bit vectors, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FMA peak, measured: {peak:F1} GFLOP/s (float32, {threads} threads)"));
        output.WriteLine();
        output.WriteLine("| batch | GEMM | m x n x k | timings | fastest GFLOP/s (% of peak) | median GFLOP/s (% of peak) |");
        output.WriteLine("|---:|---|---|---:|---:|---:|");
        var backend = Device.Cpu.BackendFor(DType.Float32);
        foreach (int batch in quick ? new[] { 64, 1024 } : [64, 256, 1024, 8192])
        {
            foreach (var (name, transA, transB, m, n, k) in new[]
            {
                ("forward x·Wᵀ", false, true, batch, 128, 784),
                ("input gradient dy·W", false, false, batch, 784, 128),
                ("weight gradient dyᵀ·x", true, false, 128, 784, batch),
            })
            {
                using var a = Filled(transA ? [k, m] : [m, k], 0.01f);
                using var b = Filled(transB ? [n, k] : [k, n], 0.02f);
                using var c = Tensor.Zeros([m, n]);
                double flop = 2.0 * m * n * k;
                // Warm: .NET compiles a method's optimized code after it has run a while (tiered compilation), and a
                // GEMM timed before that is the unoptimized one's (a third slower and more, measured).
                var warm = Stopwatch.StartNew();
                for (int i = 0; i < 50 || warm.Elapsed < TimeSpan.FromMilliseconds(quick ? 200 : 600); i++) backend.Gemm(transA, transB, 1, a, b, 0, c);
                int reps = (int)Math.Clamp(2e8 / flop, 1, 1000);
                var times = new List<double>();
                var sampling = Stopwatch.StartNew();
                while (times.Count < 5 || sampling.Elapsed < TimeSpan.FromMilliseconds(quick ? 300 : 1500))
                {
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < reps; i++) backend.Gemm(transA, transB, 1, a, b, 0, c);
                    times.Add(clock.Elapsed.TotalSeconds / reps);
                }
                times.Sort();
                double best = flop / times[0] / 1e9, median = flop / times[times.Count / 2] / 1e9;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {batch} | {name} | {m} x {n} x {k} | {times.Count} | {best:F1} ({100 * best / peak:F0}%) | {median:F1} ({100 * median / peak:F0}%) |"));
                output.Flush();
            }
        }
        return 0;
    }

    private static Tensor Filled(int[] shape, float step)
    {
        var values = new float[shape[0] * shape[1]];
        for (int i = 0; i < values.Length; i++) values[i] = (i % 13) * step - 0.06f;
        return Tensor.FromArray(values, shape);
    }

    /// <summary>GFLOP/s of <paramref name="threads"/> threads each running 10 independent FMA chains of the widest vectors, the best of <paramref name="rounds"/>.</summary>
    private static double FmaPeak(int threads, int rounds)
    {
        const long steps = 20_000_000;
        double best = 0;
        for (int round = 0; round < rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            var sums = new float[threads];
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => sums[t] = Chains(steps));
            double seconds = clock.Elapsed.TotalSeconds;
            best = Math.Max(best, threads * steps * 10.0 * 2 * Vector<float>.Count / seconds / 1e9);
        }
        return best;
    }

    /// <summary>
    /// 10 chains of a = a·m + c (each a multiply-add the hardware fuses), long enough to hide the FMA latency. Compiled
    /// optimized from the start: its first, unoptimized code ran a single thread's first round at two thirds of the peak.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Chains(long steps)
    {
        var m = new Vector<float>(0.9999f);
        var c = new Vector<float>(0.0001f);
        Vector<float> a0 = Vector<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        for (long i = 0; i < steps; i++)
        {
            a0 = Vector.FusedMultiplyAdd(a0, m, c); a1 = Vector.FusedMultiplyAdd(a1, m, c);
            a2 = Vector.FusedMultiplyAdd(a2, m, c); a3 = Vector.FusedMultiplyAdd(a3, m, c);
            a4 = Vector.FusedMultiplyAdd(a4, m, c); a5 = Vector.FusedMultiplyAdd(a5, m, c);
            a6 = Vector.FusedMultiplyAdd(a6, m, c); a7 = Vector.FusedMultiplyAdd(a7, m, c);
            a8 = Vector.FusedMultiplyAdd(a8, m, c); a9 = Vector.FusedMultiplyAdd(a9, m, c);
        }
        return Vector.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
    }
}
