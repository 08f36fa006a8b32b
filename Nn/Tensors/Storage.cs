namespace CudaNn;

/// <summary>
/// A flat block of elements owned by one device. Tensors are views (offset + shape) into a storage;
/// the storage is what holds memory and what is freed.
/// </summary>
public abstract class Storage : IDisposable
{
    protected Storage(Device device, DType dtype, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Device = device;
        DType = dtype;
        Length = length;
    }

    public Device Device { get; }
    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    public bool IsDisposed { get; private set; }

    private int _references = 1;

    /// <summary>Adds a holder: the memory is freed when every holder has called Dispose.</summary>
    internal void Retain()
    {
        ThrowIfDisposed();
        Interlocked.Increment(ref _references);
    }

    /// <summary>Copies host bytes into this storage, starting at element <paramref name="elementOffset"/>.</summary>
    public abstract void CopyFromHost(ReadOnlySpan<byte> source, long elementOffset);

    /// <summary>Sets <paramref name="count"/> elements from <paramref name="elementOffset"/> to all-zero bytes.</summary>
    public virtual void Clear(long elementOffset, long count)
    {
        CheckRange(elementOffset, checked((int)(count * DType.Size())));
        CopyFromHost(new byte[count * DType.Size()], elementOffset);
    }

    /// <summary>Copies elements starting at <paramref name="elementOffset"/> into host bytes.</summary>
    public abstract void CopyToHost(long elementOffset, Span<byte> destination);

    /// <summary>Drops one holder's reference; the last one frees the memory.</summary>
    public void Dispose()
    {
        if (IsDisposed || Interlocked.Decrement(ref _references) > 0) return;
        IsDisposed = true;
        Release();
        GC.SuppressFinalize(this);
    }

    protected abstract void Release();

    protected void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
    }

    protected void CheckRange(long elementOffset, int byteCount)
    {
        ThrowIfDisposed();
        int size = DType.Size();
        if (byteCount % size != 0)
            throw new ArgumentException($"{byteCount} bytes is not a whole number of {DType.Name()} elements");
        if (elementOffset < 0 || elementOffset + byteCount / size > Length)
            throw new ArgumentOutOfRangeException(nameof(elementOffset),
                $"elements [{elementOffset}, {elementOffset + byteCount / size}) lie outside a storage of {Length}");
    }
}
