namespace CudaNn.Cli.Commands;

/// <summary>
/// The largest values the command line accepts for counts a user chooses, so that no request can run for ever or
/// outgrow memory before it is checked. `--help` shows each beside its option; the README lists them.
/// </summary>
internal static class CliLimits
{
    /// <summary>--epochs: a million passes, far past any run that converges, and short of any counter's range.</summary>
    public const int Epochs = 1_000_000;

    /// <summary>--batch-size: 65,536 samples (200 MB of MNIST pixels as float32).</summary>
    public const int BatchSize = 1 << 16;

    /// <summary>Classes of a CSV classifier (its largest label plus one): 65,536, an output layer of 256 KiB a row.</summary>
    public const int Classes = 1 << 16;

    /// <summary>--keep: numbered checkpoint copies kept beside the checkpoint.</summary>
    public const int Keep = 10_000;

    /// <summary>predict --count: digits drawn on one --grid picture.</summary>
    public const int GridCount = 1_000;
}
