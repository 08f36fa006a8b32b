using CudaNn.Cuda.Interop;

namespace CudaNn.Cuda;

/// <summary>Whether cuBLAS could be loaded, and its version; needs no GPU.</summary>
internal static class CublasLibrary
{
    /// <summary>Where libcublas was loaded from, or why not.</summary>
    public static NativeLibraryStatus Status => NativeLibraryResolver.Load(LibraryNames.Cublas);

    /// <summary>The library's version (cublasGetProperty), e.g. 13.0.0; throws <see cref="CudaUnavailableException"/> when not loaded.</summary>
    public static Version Version
    {
        get
        {
            EnsureAvailable();
            CudaCheck.Check(Cublas.cublasGetProperty(LibraryProperty.MAJOR_VERSION, out int major));
            CudaCheck.Check(Cublas.cublasGetProperty(LibraryProperty.MINOR_VERSION, out int minor));
            CudaCheck.Check(Cublas.cublasGetProperty(LibraryProperty.PATCH_LEVEL, out int patch));
            return new Version(major, minor, patch);
        }
    }

    internal static void EnsureAvailable()
    {
        NativeLibraryStatus status = Status;
        if (!status.IsLoaded)
            throw new CudaUnavailableException(status.FailureReason!);
    }
}
