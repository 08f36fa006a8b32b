namespace CudaNn.Bench;

/// <summary>
/// What `Nn.Bench gpu` measures: <c>--quick</c> takes fewer samples and batch sizes (a smoke run), <c>--device
/// emulator</c> runs every row on the host emulator to check the code, <c>--batch-sizes 64,1024</c> sets the seed MLP's
/// batch sizes.
/// </summary>
internal sealed record GpuSuiteOptions(bool Quick, bool Emulator, int[]? ChosenBatchSizes = null)
{
    /// <summary>Batch sizes of the seed MLP's GEMM and step rows; the emulator, which runs every CUDA thread on the CPU, takes the smallest.</summary>
    public int[] BatchSizes => ChosenBatchSizes ?? (Emulator ? [64] : Quick ? [64, 1024] : [64, 256, 1024, 8192]);

    /// <summary>The wide MLP, GEMM-bound on a GPU; on the emulator a narrower one runs the code path.</summary>
    public int[] WideHidden => Emulator ? [256, 256] : [4096, 4096];

    public int[] WideBatchSizes => Emulator ? [4] : Quick ? [8192] : [1024, 8192];

    /// <summary>Every precision on a GPU; FP32 alone on the emulator, whose TF32 and BF16 rounding the tests check.</summary>
    public Precision[] Precisions => Emulator ? [Precision.FP32] : [Precision.FP32, Precision.TF32, Precision.BF16];

    /// <summary>Samples per row: the bench's defaults, or 3 for a quick run.</summary>
    public int? Samples => Quick && !Emulator ? 3 : null;

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
