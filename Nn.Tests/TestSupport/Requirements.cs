using System.Diagnostics.CodeAnalysis;
using CudaNn.Cuda;

namespace CudaNn.Tests.TestSupport;

/// <summary>
/// What a test needs from the machine. A missing requirement skips the test with the reason, unless the
/// named environment variable is "1" (as on CI for what CI installs), in which case the test fails.
/// </summary>
public static class Requirements
{
    /// <summary>Set to 1 where NVRTC must be present.</summary>
    public const string RequireNvrtc = "CUDANN_REQUIRE_NVRTC";

    /// <summary>Set to 1 where a TrueType font for the pictures' text must be found.</summary>
    public const string RequireFont = "CUDANN_REQUIRE_FONT";

    /// <summary>Set to 1 where a usable GPU (driver, device, cuBLAS) must be present.</summary>
    public const string RequireGpu = "CUDANN_REQUIRE_GPU";

    /// <summary>Set to 1 where the host emulator must build and run.</summary>
    public const string RequireEmulator = "CUDANN_REQUIRE_EMULATOR";

    /// <summary>Set to 1 where Open MPI (mpirun and libmpi.so.40) must be present.</summary>
    public const string RequireMpi = "CUDANN_REQUIRE_MPI";

    /// <summary>Skips the test with <paramref name="reason"/>, or fails it when <paramref name="environmentVariable"/> is "1".</summary>
    [DoesNotReturn]
    public static void SkipOrFail(string environmentVariable, string reason)
    {
        if (Environment.GetEnvironmentVariable(environmentVariable) == "1")
            Assert.Fail($"{reason} ({environmentVariable}=1 makes this a failure)");
        Assert.Ignore(reason);
        throw new InvalidOperationException("Assert.Ignore returned.");
    }

    /// <summary>The process's emulator device (kernels.cu built with g++), or skip/fail (<see cref="RequireEmulator"/>).</summary>
    public static Device Emulator()
    {
        try
        {
            return CudaNn.Backends.Cuda.CudaDevices.Emulator();
        }
        catch (CudaNn.Kernels.Emulation.EmulatorBuildException e) when (e.IsCompilerMissing)
        {
            SkipOrFail(RequireEmulator, $"the host emulator cannot be built: {e.Message}");
            throw; // not reached: SkipOrFail throws
        }
    }

    /// <summary>The process's NVRTC, or skip/fail (<see cref="RequireNvrtc"/>).</summary>
    internal static NvrtcCompiler Nvrtc()
    {
        if (!NvrtcCompiler.TryLoad(out NvrtcCompiler? compiler, out string? reason))
            SkipOrFail(RequireNvrtc, $"NVRTC is not available: {reason}");
        return compiler;
    }

    /// <summary>The path of Open MPI's mpirun with libmpi loaded, or skip/fail (<see cref="RequireMpi"/>).</summary>
    public static string Mpirun()
    {
        var library = CudaNn.Distributed.MpiCommunicator.LibraryStatus;
        if (!library.IsLoaded) SkipOrFail(RequireMpi, $"MPI is not available: {library.FailureReason}");
        string? mpirun = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "mpirun")).FirstOrDefault(File.Exists);
        if (mpirun is null) SkipOrFail(RequireMpi, "mpirun is not on PATH (apt-get install openmpi-bin)");
        return mpirun;
    }

    /// <summary>A usable GPU with cuBLAS loaded, or skip/fail (<see cref="RequireGpu"/>).</summary>
    public static CudaGpu Gpu()
    {
        if (!CudaGpu.TryGet(out CudaGpu? device, out string? reason))
            SkipOrFail(RequireGpu, $"no usable GPU: {reason}");
        if (!CublasLibrary.Status.IsLoaded)
            SkipOrFail(RequireGpu, $"cuBLAS is not available: {CublasLibrary.Status.FailureReason}");
        return device;
    }

    /// <summary>The font the pictures' text is drawn with, or skip/fail (<see cref="RequireFont"/>).</summary>
    internal static CudaNn.Cli.Plots.TrueTypeFont Font()
    {
        if (CudaNn.Cli.Plots.TrueTypeFont.System is { } font) return font;
        SkipOrFail(RequireFont, CudaNn.Cli.Plots.TrueTypeFont.MissingNote ?? "no font");
        throw new InvalidOperationException("SkipOrFail returned.");
    }
}
