using System.Globalization;
using CudaNn.Cuda.Interop;

namespace CudaNn.Cuda;

/// <summary>
/// Loads libcuda and runs cuInit once per process, remembering either the driver version or the exact
/// reason the driver cannot be used. Every wrapper goes through <see cref="EnsureAvailable"/> first, so
/// a machine without CUDA gets that reason instead of a DllNotFoundException.
/// </summary>
internal static class CudaDriver
{
    /// <summary>The oldest driver CudaNn accepts: CUDA 11.8 (PTX from NVRTC 11.8 needs it to JIT).</summary>
    public const int MinimumVersion = 11080;

    private static readonly Lazy<DriverState> State = new(Initialize);

    public static NativeLibraryStatus Library => State.Value.Library;

    /// <summary>cuDriverGetVersion's value (e.g. 13000), or null when the library did not load.</summary>
    public static int? Version => State.Value.Version;

    /// <summary>Null when the driver is usable, otherwise why not.</summary>
    public static string? UnavailableReason => State.Value.Reason;

    public static void EnsureAvailable()
    {
        if (State.Value.Reason is { } reason)
            throw new CudaUnavailableException(reason);
    }

    /// <summary>12080 → "12.8".</summary>
    public static string FormatVersion(int version) =>
        string.Create(CultureInfo.InvariantCulture, $"{version / 1000}.{version % 1000 / 10}");

    private static DriverState Initialize()
    {
        NativeLibraryStatus library = NativeLibraryResolver.Load(LibraryNames.Driver);
        if (!library.IsLoaded)
            return new DriverState(library, null, library.FailureReason);

        int? version = Driver.cuDriverGetVersion(out int v) == CuResult.CUDA_SUCCESS ? v : null;
        CuResult init = Driver.cuInit(0);
        if (init != CuResult.CUDA_SUCCESS)
            return new DriverState(library, version, CudaCheck.Error(init, "cuInit").Message);
        if (version is null or < MinimumVersion)
        {
            string found = version is { } known ? FormatVersion(known) : "of unknown version";
            return new DriverState(library, version,
                $"driver {found} too old: CudaNn needs a driver for CUDA {FormatVersion(MinimumVersion)} or newer");
        }
        return new DriverState(library, version, null);
    }

    private sealed record DriverState(NativeLibraryStatus Library, int? Version, string? Reason);
}
