namespace CudaNn.Bench;

/// <summary>
/// What `Nn.Bench gpu` measures and how long: <c>--quick</c> takes fewer steps and repeats (a smoke run),
/// <c>--device emulator</c> runs the training-step code path on the host emulator at a handful of steps
/// (it checks the code, not the speed), <c>--batch-sizes 64,1024</c> sets the seed MLP's batch sizes.
/// </summary>
internal sealed record GpuSuiteOptions(bool Quick, bool Emulator, int[]? ChosenBatchSizes = null)
{
    /// <summary>Batch sizes of the fixed-batch step table; the emulator, which runs every CUDA thread on the CPU, takes the smallest.</summary>
    public int[] BatchSizes => ChosenBatchSizes ?? (Emulator ? [64] : [64, 256, 1024, 8192]);

    /// <summary>Batch sizes of the wide MLP (784-4096-4096-10), GEMM-bound on a GPU; on the emulator a handful of rows runs the code path.</summary>
    public int[] WideBatchSizes => Emulator ? [4] : Quick ? [8192] : [1024, 8192];

    /// <summary>
    /// Training steps between two events: enough device time (≥ 1 ms) that the event resolution (0.5 µs) is noise; a
    /// step of 10 GFLOP or more (the wide MLP) is long enough alone, so a few of those.
    /// </summary>
    public int StepsPerTiming(int batchSize, long gemmFlopPerSample) =>
        Emulator ? 2
        : batchSize * gemmFlopPerSample >= 10_000_000_000L ? (Quick ? 3 : 10)
        : Quick ? 20 : batchSize <= 1024 ? 200 : 50;

    /// <summary>Timings per row; the table shows their median.</summary>
    public int Repeats => Emulator ? 2 : Quick ? 3 : 9;

    /// <summary>Eager steps before timing, by the clock: long enough for .NET's tiered JIT to promote the host code of a step.</summary>
    public TimeSpan WarmUp => Emulator ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Quick ? 100 : 400);

    /// <summary>Timed epochs of the DataLoader benchmark (after one untimed epoch that captures the graphs).</summary>
    public int Epochs => Emulator ? 1 : Quick ? 2 : 5;

    public static GpuSuiteOptions Parse(IReadOnlyList<string> args)
    {
        bool quick = false, emulator = false;
        int[]? batchSizes = null;
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    quick = true;
                    break;
                case "--device" when i + 1 < args.Count && args[i + 1] is "cuda" or "emulator":
                    emulator = args[++i] == "emulator";
                    break;
                case "--batch-sizes" when i + 1 < args.Count:
                    string list = args[++i];
                    batchSizes = list.Split(',').Select(s => int.TryParse(s, out int b) && b > 0 ? b
                        : throw new ArgumentException($"Nn.Bench gpu: --batch-sizes takes positive whole numbers separated by commas, not '{list}'")).ToArray();
                    break;
                default:
                    throw new ArgumentException($"Nn.Bench gpu: unknown argument '{args[i]}'; usage: Nn.Bench gpu [--quick] [--device cuda|emulator] [--batch-sizes 64,256,...]");
            }
        }
        return new GpuSuiteOptions(quick, emulator, batchSizes);
    }
}
