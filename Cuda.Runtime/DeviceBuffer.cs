using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// <see cref="Length"/> elements of <typeparamref name="T"/> in device memory, freed exactly once: by
/// <see cref="Dispose"/>, or by the finaliser of its handle if it is forgotten. Copies to and from host
/// spans are synchronous: they wait for earlier work on blocking streams and return when the data has arrived.
/// </summary>
internal sealed unsafe class DeviceBuffer<T> : IDisposable where T : unmanaged
{
    private readonly DeviceMemoryHandle memory;

    internal DeviceBuffer(CudaContext context, long length, string? purpose)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Length = length;
        memory = new DeviceMemoryHandle(context);
        memory.Attach((nint)context.AllocateBytes(SizeInBytes, purpose));
    }

    public CudaContext Context => memory.Context;

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary><c>Length * sizeof(T)</c>.</summary>
    public long SizeInBytes => checked(Length * sizeof(T));

    /// <summary>The device address of element 0; throws once disposed.</summary>
    public DevicePtr Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(memory.IsClosed, this);
            return new DevicePtr(memory.Address);
        }
    }

    /// <summary>Copies all of <paramref name="source"/> (exactly <see cref="Length"/> elements) to the device.</summary>
    public void CopyFrom(ReadOnlySpan<T> source)
    {
        RequireLength(source.Length, nameof(source));
        DevicePtr destination = Pointer;
        Context.MakeCurrent();
        fixed (T* host = source)
            Check(Driver.cuMemcpyHtoD_v2(destination.Address, host, (nuint)SizeInBytes));
    }

    /// <summary>Copies the whole buffer into <paramref name="destination"/> (exactly <see cref="Length"/> elements).</summary>
    public void CopyTo(Span<T> destination)
    {
        RequireLength(destination.Length, nameof(destination));
        DevicePtr source = Pointer;
        Context.MakeCurrent();
        fixed (T* host = destination)
            Check(Driver.cuMemcpyDtoH_v2(host, source.Address, (nuint)SizeInBytes));
    }

    /// <summary>Enqueues a device-to-device copy of the whole of <paramref name="source"/> on <paramref name="stream"/>.</summary>
    public void CopyFrom(CudaStream stream, DeviceBuffer<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        RequireLength(source.Length, nameof(source));
        Context.MakeCurrent();
        Check(Driver.cuMemcpyDtoDAsync_v2(Pointer.Address, source.Pointer.Address, (nuint)SizeInBytes, stream.Handle));
    }

    /// <summary>Enqueues setting every byte to zero on <paramref name="stream"/>.</summary>
    public void Clear(CudaStream stream)
    {
        Context.MakeCurrent();
        Check(Driver.cuMemsetD8Async(Pointer.Address, 0, (nuint)SizeInBytes, stream.Handle));
    }

    /// <summary>Copies the buffer to a new host array (synchronous).</summary>
    public T[] ToArray()
    {
        if (Length > Array.MaxLength)
            throw new InvalidOperationException($"A buffer of {Length} elements does not fit in one .NET array.");
        var result = new T[Length];
        CopyTo(result);
        return result;
    }

    public void Dispose() => memory.Dispose();

    private void RequireLength(long length, string parameter)
    {
        if (length != Length)
            throw new ArgumentException($"{parameter} has {length} elements but the device buffer holds {Length} {typeof(T).Name}.", parameter);
    }
}
