namespace CudaNn.Cuda;

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
