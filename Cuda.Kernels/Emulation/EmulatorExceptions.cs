namespace CudaNn.Kernels.Emulation;

/// <summary>The host emulator could not be built: the compiler is missing, or it rejected the source.</summary>
public sealed class EmulatorBuildException(string message, string compilerOutput, bool isCompilerMissing, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>What the compiler wrote to stderr and stdout (empty when it could not be started).</summary>
    public string CompilerOutput { get; } = compilerOutput;

    /// <summary>True when the compiler could not be started at all (tests skip rather than fail on this).</summary>
    public bool IsCompilerMissing { get; } = isCompilerMissing;
}

/// <summary>
/// A kernel failed while running on the host emulator: a load or store outside its memory, a divergent barrier, a
/// warp-synchronous call whose mask does not name the caller, or <c>__trap()</c>. The message names the kernel, the
/// launch and the threads involved, and for an access the address and the memory it missed.
/// </summary>
public sealed class EmulatedKernelException(string kernelName, string reason)
    : Exception($"Kernel '{kernelName}' failed on the host emulator: {reason}")
{
    public string KernelName { get; } = kernelName;

    /// <summary>The emulator's own description, e.g. "thread (36,0,0) of block (1,0,0): invalid read of 4 bytes at ...".</summary>
    public string Reason { get; } = reason;
}
