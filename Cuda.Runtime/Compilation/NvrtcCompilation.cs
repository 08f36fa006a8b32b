namespace CudaNn.Cuda;

/// <summary>
/// What one successful NVRTC compilation produced: always PTX; a CUBIN when a real architecture
/// (<c>-arch=sm_XX</c>) was targeted; and the program log (warnings, and ptxas's resource lines when
/// <c>--ptxas-options=--verbose</c> was given).
/// </summary>
internal sealed record NvrtcCompilation(string ProgramName, string Ptx, byte[]? Cubin, string Log)
{
    /// <summary>Per-kernel registers, shared memory and spills parsed from <see cref="Log"/> (empty without --ptxas-options=--verbose).</summary>
    internal KernelResourceReport Resources => KernelResourceReport.Parse(Log);

    /// <summary>The image to load: the CUBIN when there is one, otherwise the PTX text.</summary>
    public byte[] Image => Cubin ?? System.Text.Encoding.UTF8.GetBytes(Ptx);
}

/// <summary>NVRTC rejected a program; <see cref="Log"/> holds the compiler's messages.</summary>
public sealed class NvrtcCompileException(string programName, string statusName, string log, IReadOnlyList<string> options)
    : Exception($"NVRTC could not compile '{programName}' ({statusName}) with options [{string.Join(" ", options)}]:\n{log}")
{
    public string ProgramName { get; } = programName;

    /// <summary>NVRTC_ERROR_COMPILATION for source errors, NVRTC_ERROR_INVALID_OPTION for bad options.</summary>
    public string StatusName { get; } = statusName;

    /// <summary>The program log, e.g. "kernels.cu(12): error: identifier "x" is undefined".</summary>
    public string Log { get; } = log;
}
