using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// NVRTC: compiles CUDA C++ source to PTX (for a virtual architecture, <c>-arch=compute_80</c>) and also to
/// CUBIN (for a real one, <c>-arch=sm_80</c>). Needs no GPU. Obtain it with <see cref="TryLoad"/> or <see cref="Load"/>.
/// </summary>
internal sealed unsafe class NvrtcCompiler
{
    private static readonly Lazy<NvrtcCompiler?> Instance = new(() => Status.IsLoaded ? new NvrtcCompiler() : null);

    private NvrtcCompiler()
    {
        Check(Nvrtc.nvrtcVersion(out int major, out int minor));
        Version = new Version(major, minor);
        Check(Nvrtc.nvrtcGetNumSupportedArchs(out int count));
        int[] architectures = new int[count];
        fixed (int* p = architectures)
            Check(Nvrtc.nvrtcGetSupportedArchs(p));
        SupportedArchitectures = architectures;
    }

    /// <summary>Where libnvrtc was loaded from, or why not.</summary>
    public static NativeLibraryStatus Status => NativeLibraryResolver.Load(LibraryNames.Nvrtc);

    /// <summary>NVRTC's version, e.g. 11.8 or 13.0.</summary>
    public Version Version { get; }

    /// <summary>The real architectures this NVRTC can target, as numbers: 80 for sm_80.</summary>
    public IReadOnlyList<int> SupportedArchitectures { get; }

    /// <summary>The process's NVRTC, or the reason it could not be loaded.</summary>
    public static bool TryLoad([NotNullWhen(true)] out NvrtcCompiler? compiler, [NotNullWhen(false)] out string? reason)
    {
        compiler = Instance.Value;
        reason = compiler is null ? Status.FailureReason ?? "NVRTC could not be loaded" : null;
        return compiler is not null;
    }

    /// <summary>The process's NVRTC; throws <see cref="CudaUnavailableException"/> with the reason otherwise.</summary>
    public static NvrtcCompiler Load() =>
        TryLoad(out NvrtcCompiler? compiler, out string? reason) ? compiler : throw new CudaUnavailableException(reason);

    /// <summary>
    /// Compiles <paramref name="source"/> (named <paramref name="programName"/> in messages) with NVRTC
    /// <paramref name="options"/>, e.g. <c>-arch=sm_90</c>, <c>--ptxas-options=--verbose</c>. Throws
    /// <see cref="NvrtcCompileException"/> carrying the program log when compilation fails.
    /// </summary>
    public NvrtcCompilation Compile(string source, string programName, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(programName);
        ArgumentNullException.ThrowIfNull(options);

        nint program;
        fixed (byte* sourcePtr = Utf8(source), namePtr = Utf8(programName))
            Check(Nvrtc.nvrtcCreateProgram(out program, sourcePtr, namePtr, 0, null, null));
        try
        {
            NvrtcResult status = CompileWithOptions(program, options);
            string log = ReadLog(program);
            if (status != NvrtcResult.NVRTC_SUCCESS)
                throw new NvrtcCompileException(programName, Error(status, nameof(Nvrtc.nvrtcCompileProgram)).StatusName, log, options);

            Check(Nvrtc.nvrtcGetPTXSize(program, out nuint ptxSize));
            byte[] ptx = new byte[(int)ptxSize];
            fixed (byte* p = ptx)
                Check(Nvrtc.nvrtcGetPTX(program, p));
            Check(Nvrtc.nvrtcGetCUBINSize(program, out nuint cubinSize));
            byte[]? cubin = cubinSize == 0 ? null : new byte[(int)cubinSize];
            if (cubin is not null)
                fixed (byte* p = cubin)
                    Check(Nvrtc.nvrtcGetCUBIN(program, p));
            return new NvrtcCompilation(programName, Encoding.UTF8.GetString(ptx).TrimEnd('\0'), cubin, log);
        }
        finally
        {
            Nvrtc.nvrtcDestroyProgram(ref program);
        }
    }

    private static NvrtcResult CompileWithOptions(nint program, IReadOnlyList<string> options)
    {
        var pinned = new GCHandle[options.Count];
        byte** pointers = stackalloc byte*[Math.Max(1, options.Count)];
        try
        {
            for (int i = 0; i < options.Count; i++)
            {
                pinned[i] = GCHandle.Alloc(Utf8(options[i]), GCHandleType.Pinned);
                pointers[i] = (byte*)pinned[i].AddrOfPinnedObject();
            }
            return Nvrtc.nvrtcCompileProgram(program, options.Count, pointers);
        }
        finally
        {
            foreach (GCHandle handle in pinned)
                if (handle.IsAllocated)
                    handle.Free();
        }
    }

    private static string ReadLog(nint program)
    {
        Check(Nvrtc.nvrtcGetProgramLogSize(program, out nuint size));
        byte[] log = new byte[(int)size];
        fixed (byte* p = log)
            Check(Nvrtc.nvrtcGetProgramLog(program, p));
        return Encoding.UTF8.GetString(log).TrimEnd('\0').Trim();
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text + "\0");
}

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
