using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>Free and total device memory in bytes, as cuMemGetInfo reports them.</summary>
internal readonly record struct DeviceMemoryInfo(long FreeBytes, long TotalBytes);

/// <summary>
/// A device's primary context. Driver calls act on the context current on the calling thread, so every
/// wrapper calls <see cref="MakeCurrent"/> first; handles released by a finaliser push it explicitly.
/// Obtain it from <see cref="CudaGpu.PrimaryContext"/>.
/// </summary>
internal sealed class CudaContext
{
    [ThreadStatic] private static nint currentOnThisThread;

    internal CudaContext(CudaGpu device)
    {
        CudaDriver.EnsureAvailable();
        Check(Driver.cuDevicePrimaryCtxRetain(out nint handle, device.Handle));
        Device = device;
        Handle = handle;
    }

    public CudaGpu Device { get; }

    internal nint Handle { get; }

    /// <summary>Makes this context current on the calling thread (a no-op when it already is).</summary>
    public void MakeCurrent()
    {
        if (currentOnThisThread == Handle)
            return;
        Check(Driver.cuCtxSetCurrent(Handle));
        currentOnThisThread = Handle;
    }

    /// <summary>Waits until all work on every stream of this context has finished.</summary>
    public void Synchronize()
    {
        MakeCurrent();
        Check(Driver.cuCtxSynchronize());
    }

    public DeviceMemoryInfo GetMemoryInfo()
    {
        MakeCurrent();
        Check(Driver.cuMemGetInfo_v2(out nuint free, out nuint total));
        return new DeviceMemoryInfo((long)free, (long)total);
    }

    /// <summary>Allocates <paramref name="length"/> uninitialised elements of <typeparamref name="T"/>.</summary>
    public DeviceBuffer<T> Allocate<T>(long length, string? purpose = null) where T : unmanaged => new(this, length, purpose);

    /// <summary>A new stream that orders work among itself and with the legacy default stream.</summary>
    public CudaStream CreateStream() => new(this);

    /// <summary>A new event; timing can be turned off for events used only to order streams.</summary>
    public CudaEvent CreateEvent(bool enableTiming = true) => new(this, enableTiming);

    /// <summary>Loads a PTX or CUBIN image (see <see cref="CudaModule"/>).</summary>
    public CudaModule LoadModule(ReadOnlySpan<byte> image) => new(this, image);

    /// <summary>cuMemAlloc with an out-of-memory message that says what was asked for and what is free.</summary>
    internal ulong AllocateBytes(long bytes, string? purpose)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        MakeCurrent();
        CuResult status = Driver.cuMemAlloc_v2(out ulong pointer, (nuint)bytes);
        if (status == CuResult.CUDA_ERROR_OUT_OF_MEMORY)
        {
            string what = purpose is null ? "" : $" for {purpose}";
            string memory = Driver.cuMemGetInfo_v2(out nuint free, out nuint total) == CuResult.CUDA_SUCCESS
                ? $"; {ByteSize.Format((long)free)} free of {ByteSize.Format((long)total)}"
                : "";
            throw Error(status, nameof(Driver.cuMemAlloc_v2), $"while allocating {ByteSize.Format(bytes)}{what}{memory}");
        }
        Check(status, $"while allocating {ByteSize.Format(bytes)}");
        return pointer;
    }

    /// <summary>
    /// Runs a release call with this context pushed, as finalisers run on threads where it is not current.
    /// Never throws: a failed release is reported as false, which SafeHandle turns into a debugger notice.
    /// </summary>
    internal bool ReleaseWithContext<TState>(TState state, Func<TState, bool> release)
    {
        if (Driver.cuCtxPushCurrent_v2(Handle) != CuResult.CUDA_SUCCESS)
            return false;
        try
        {
            return release(state);
        }
        finally
        {
            Driver.cuCtxPopCurrent_v2(out _);
        }
    }
}
