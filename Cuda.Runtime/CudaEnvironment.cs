using System.Runtime.InteropServices;
using System.Text;

namespace CudaNn.Cuda;

/// <summary>A library's load status plus its version when it loaded (or why the version could not be read).</summary>
public sealed record NativeLibraryReport(NativeLibraryStatus Status, string? Version)
{
    public override string ToString() =>
        Status.IsLoaded ? $"{Status.Library} {Version}, loaded from {Status.LoadedFrom}" : $"{Status.Library}: {Status.FailureReason}";
}

/// <summary>
/// Everything CudaNn can find out about the CUDA installation, gathered without throwing: what
/// <c>CudaNn info</c> prints. <see cref="ToString"/> renders it as lines of text.
/// </summary>
/// <param name="DotNetVersion">The .NET runtime, e.g. ".NET 10.0.0".</param>
/// <param name="OperatingSystem">The OS and architecture.</param>
/// <param name="DriverVersion">The CUDA version the driver supports, e.g. "13.0"; null when libcuda did not load.</param>
/// <param name="Driver">libcuda.</param>
/// <param name="Nvrtc">libnvrtc.</param>
/// <param name="Cublas">libcublas.</param>
/// <param name="Devices">Every device the driver reports.</param>
/// <param name="NoUsableDeviceReason">Null when device 0 is usable, otherwise exactly why not.</param>
public sealed record CudaEnvironmentReport(
    string DotNetVersion, string OperatingSystem, string? DriverVersion,
    NativeLibraryReport Driver, NativeLibraryReport Nvrtc, NativeLibraryReport Cublas,
    IReadOnlyList<string> Devices, string? NoUsableDeviceReason)
{
    /// <summary>libcublasLt, for GEMMs with epilogues (cuBLAS's own copy where cuBLAS loads); null when not looked for.</summary>
    public NativeLibraryReport? CublasLt { get; init; }

    /// <summary>libnccl, for data-parallel training on several GPUs; null when not looked for.</summary>
    public NativeLibraryReport? Nccl { get; init; }

    /// <summary>Open MPI's libmpi, which launches and joins data-parallel jobs; null when not looked for.</summary>
    public NativeLibraryReport? Mpi { get; init; }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($".NET:    {DotNetVersion} on {OperatingSystem}");
        text.AppendLine($"driver:  {(Driver.Status.IsLoaded ? $"CUDA {DriverVersion ?? "?"}, loaded from {Driver.Status.LoadedFrom}" : Driver.Status.FailureReason)}");
        text.AppendLine($"NVRTC:   {Describe(Nvrtc)}");
        text.AppendLine($"cuBLAS:  {Describe(Cublas)}");
        if (CublasLt is not null) text.AppendLine($"cuBLASLt: {Describe(CublasLt)}");
        if (Nccl is not null) text.AppendLine($"NCCL:    {Describe(Nccl)}");
        if (Mpi is not null) text.AppendLine($"MPI:     {Describe(Mpi)}");
        if (Devices.Count == 0)
            text.AppendLine("devices: none");
        foreach (string device in Devices)
            text.AppendLine($"device   {device}");
        text.AppendLine(NoUsableDeviceReason is null ? "GPU:     device 0 is usable" : $"GPU:     no usable GPU: {NoUsableDeviceReason}");
        return text.ToString();
    }

    private static string Describe(NativeLibraryReport library) =>
        library.Status.IsLoaded
            ? $"{library.Version}, loaded from {library.Status.LoadedFrom}"
            : library.Status.FailureReason ?? "not loaded";
}

/// <summary>Gathers a <see cref="CudaEnvironmentReport"/>.</summary>
public static class CudaEnvironment
{
    /// <summary>Loads what can be loaded and reports everything; never throws for a missing or broken CUDA.</summary>
    public static CudaEnvironmentReport Describe()
    {
        NativeLibraryStatus driver = CudaDriver.Library;
        string? driverVersion = CudaDriver.Version is { } v ? CudaDriver.FormatVersion(v) : null;

        NativeLibraryReport nvrtc = new(NvrtcCompiler.Status,
            Attempt(() => NvrtcCompiler.Load().Version.ToString(2)));
        NativeLibraryReport cublas = new(CublasLibrary.Status,
            Attempt(() => CublasLibrary.Version.ToString(3)));

        IReadOnlyList<string> devices = [];
        string? reason = null;
        try
        {
            devices = CudaGpu.GetAll().Select(d => d.ToString()).ToList();
            CudaGpu.TryGet(out _, out reason);
        }
        catch (Exception e) when (e is CudaException or CudaUnavailableException)
        {
            reason = e.Message;
        }
        if (reason is null && !cublas.Status.IsLoaded)
            reason = $"device 0 is present but cuBLAS is missing: {cublas.Status.FailureReason}";

        return new CudaEnvironmentReport(
            RuntimeInformation.FrameworkDescription,
            $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})",
            driverVersion,
            new NativeLibraryReport(driver, driverVersion), nvrtc, cublas,
            devices, reason)
        {
            CublasLt = new NativeLibraryReport(CublasLtHandle.LibraryStatus, Attempt(() => CublasLtHandle.LibraryVersion.ToString(3))),
            Nccl = new NativeLibraryReport(Distributed.NcclCommunicator.LibraryStatus, Attempt(() => Distributed.NcclCommunicator.Version.ToString(3))),
            Mpi = new NativeLibraryReport(Distributed.MpiCommunicator.LibraryStatus, Attempt(() => Distributed.MpiCommunicator.LibraryVersion)),
        };
    }

    private static string? Attempt(Func<string> version)
    {
        try
        {
            return version();
        }
        catch (Exception e) when (e is CudaException or CudaUnavailableException or Distributed.CollectiveException
                                   or EntryPointNotFoundException or DllNotFoundException)
        {
            return $"(version unavailable: {e.Message})";
        }
    }
}

/// <summary>
/// Where a native CUDA library was loaded from, or exactly why it was not.
/// </summary>
/// <param name="Library">The library as users know it, e.g. "libnvrtc.so".</param>
/// <param name="LoadedFrom">The file that was loaded (as given to the loader); null when loading failed.</param>
/// <param name="FailureReason">Why no file could be loaded; null when one was.</param>
public sealed record NativeLibraryStatus(string Library, string? LoadedFrom, string? FailureReason)
{
    /// <summary>True when a file was loaded.</summary>
    public bool IsLoaded => LoadedFrom is not null;

    /// <summary>The loader's handle; zero when not loaded.</summary>
    internal nint Handle { get; init; }

    public override string ToString() => IsLoaded ? $"{Library}: {LoadedFrom}" : $"{Library}: {FailureReason}";
}
