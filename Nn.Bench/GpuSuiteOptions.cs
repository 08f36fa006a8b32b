namespace CudaNn.Bench;

/// <summary>
/// What `Nn.Bench gpu` measures and how long: <c>--quick</c> takes fewer steps and repeats (a smoke run),
/// <c>--device emulator</c> runs the training-step code path on the host emulator at a handful of steps
/// (it checks the code, not the speed).
/// </summary>
internal sealed record GpuSuiteOptions(bool Quick, bool Emulator)
{
    /// <summary>Batch sizes of the fixed-batch step table; the emulator, which runs every CUDA thread on the CPU, takes the smallest.</summary>
    public int[] BatchSizes => Emulator ? [64] : [64, 256, 1024, 8192];

    /// <summary>Training steps between two events: enough device time (≥ 1 ms) that the event resolution (0.5 µs) is noise.</summary>
    public int StepsPerTiming(int batchSize) => Emulator ? 2 : Quick ? 20 : batchSize <= 1024 ? 200 : 50;

    /// <summary>Timings per row; the table shows their median.</summary>
    public int Repeats => Emulator ? 2 : Quick ? 3 : 9;

    /// <summary>Eager steps before timing, by the clock: long enough for .NET's tiered JIT to promote the host code of a step.</summary>
    public TimeSpan WarmUp => Emulator ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Quick ? 100 : 400);

    /// <summary>Timed epochs of the DataLoader benchmark (after one untimed epoch that captures the graphs).</summary>
    public int Epochs => Emulator ? 1 : Quick ? 2 : 5;

    public static GpuSuiteOptions Parse(IReadOnlyList<string> args)
    {
        bool quick = false, emulator = false;
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
                default:
                    throw new ArgumentException($"Nn.Bench gpu: unknown argument '{args[i]}'; usage: Nn.Bench gpu [--quick] [--device cuda|emulator]");
            }
        }
        return new GpuSuiteOptions(quick, emulator);
    }
}
