namespace CudaNn.Kernels.Emulation;

/// <summary>The order in which the emulator runs the warps of a block (and the lanes of a warp).</summary>
public enum WarpOrder
{
    /// <summary>Warp 0 first, lane 0 first.</summary>
    Ascending,

    /// <summary>The last warp first, its last lane first: a correct kernel gives the same bits either way.</summary>
    Descending,
}

/// <summary>How <see cref="EmulatedComputeDevice"/> builds and runs a CUDA source on the host.</summary>
public sealed record EmulatorOptions
{
    /// <summary>
    /// Where built libraries are cached; null means <c>$CUDANN_CACHE_DIR/emulator</c>, else
    /// <c>$XDG_CACHE_HOME/cudann/emulator</c>, else <c>~/.cache/cudann/emulator</c>.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The C++ compiler to run (a name looked up on PATH, or a path). It is not part of the cache key.</summary>
    public string Compiler { get; init; } = "g++";

    /// <summary>The source's file name, as compiler messages and "divergent barrier" reports show it.</summary>
    public string ProgramName { get; init; } = "kernels.cu";

    /// <summary>The warp order launches start with; <see cref="EmulatedComputeDevice.WarpOrder"/> changes it later.</summary>
    public WarpOrder WarpOrder { get; init; } = WarpOrder.Ascending;

    /// <summary>
    /// Checks every load and store a kernel makes: device memory must lie inside one live allocation, shared memory
    /// inside one <c>__shared__</c> variable or the launch's dynamic bytes; the first that does not fails the launch
    /// with <see cref="EmulatedKernelException"/>. On unless <c>CUDANN_EMULATOR_MEMORY_CHECKS=0</c>; off, kernels
    /// run faster and only copies, memsets and GEMM operands are checked.
    /// </summary>
    public bool CheckMemory { get; init; } = Environment.GetEnvironmentVariable("CUDANN_EMULATOR_MEMORY_CHECKS") != "0";
}
