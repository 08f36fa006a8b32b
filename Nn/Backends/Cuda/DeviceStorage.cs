using CudaNn.Cuda;

namespace CudaNn.Backends.Cuda;

/// <summary>Device memory of a <see cref="CudaDevice"/>: a real GPU's or the host emulator's.</summary>
internal sealed class DeviceStorage : Storage
{
    private readonly CudaDevice _device;
    private bool _usedByGraph;

    internal DeviceStorage(CudaDevice device, DType dtype, long length) : base(device, dtype, length)
    {
        _device = device;
        long bytes = checked(length * dtype.Size());
        if (bytes == 0) return;
        try
        {
            Pointer = device.Compute.Allocate(bytes, $"tensor storage of {length} {dtype.Name()} elements");
        }
        catch (Exception e) when (e is CudaException or OutOfMemoryException)
        {
            throw new OutOfMemoryException(
                $"allocating {ByteSize.Format(bytes)} for {length} {dtype.Name()} elements on {device.Name}: {e.Message}", e);
        }
    }

    /// <summary>The first element's device address (null for an empty storage).</summary>
    public DevicePtr Pointer { get; }

    /// <summary>The address of element <paramref name="index"/>.</summary>
    public DevicePtr At(long index) => Pointer.Offset(index * DType.Size());

    /// <summary>
    /// The address of element <paramref name="index"/> for work enqueued now on the device's stream (a kernel, a GEMM, a
    /// collective). While a graph is being captured it notes that the graph reads or writes this memory, so freeing it
    /// must retire that graph (see <see cref="CudaDevice.CapturedStateChanges"/>).
    /// </summary>
    internal DevicePtr ForWork(long index)
    {
        if (_device.IsCapturing) _usedByGraph = true;
        return At(index);
    }

    public override void CopyFromHost(ReadOnlySpan<byte> source, long elementOffset)
    {
        CheckRange(elementOffset, source.Length);
        if (source.Length > 0) _device.Compute.CopyHostToDevice(At(elementOffset), source);
    }

    public override void CopyToHost(long elementOffset, Span<byte> destination)
    {
        CheckRange(elementOffset, destination.Length);
        if (destination.Length == 0) return;
        _device.Compute.CopyDeviceToHost(destination, At(elementOffset));
        _device.ThrowIfALabelWasOutOfRange();
    }

    public override void Clear(long elementOffset, long count)
    {
        ThrowIfDisposed();
        if (elementOffset < 0 || count < 0 || elementOffset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(elementOffset), $"elements [{elementOffset}, {elementOffset + count}) lie outside a storage of {Length}");
        if (count > 0) _device.Compute.Memset(_device.Stream, At(elementOffset), 0, count * DType.Size());
    }

    protected override void Release()
    {
        if (Pointer.IsNull || _device.IsDisposed) return;
        _device.Compute.Free(Pointer);
        if (_usedByGraph) _device.NoteCapturedStateChanged();
    }
}
