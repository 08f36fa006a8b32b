using System.Runtime.InteropServices;

namespace CudaNn;

/// <summary>Host memory: a managed array of <typeparamref name="T"/>.</summary>
internal sealed class CpuStorage<T> : Storage where T : unmanaged
{
    public CpuStorage(long length) : this(Device.Cpu, length) { }

    /// <summary>Host memory for <paramref name="device"/>, one of the two host devices (<see cref="Device.Cpu"/>, <see cref="Device.Reference"/>).</summary>
    internal CpuStorage(Device device, long length) : base(device, DTypeExtensions.Of<T>(), length)
    {
        if (length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), $"{length} elements exceed the largest host array");
        Data = new T[length];
    }

    /// <summary>The elements; valid until the storage is disposed.</summary>
    public T[] Data { get; private set; }

    public override void CopyFromHost(ReadOnlySpan<byte> source, long elementOffset)
    {
        CheckRange(elementOffset, source.Length);
        source.CopyTo(MemoryMarshal.AsBytes(Data.AsSpan((int)elementOffset)));
    }

    public override void CopyToHost(long elementOffset, Span<byte> destination)
    {
        CheckRange(elementOffset, destination.Length);
        MemoryMarshal.AsBytes(Data.AsSpan((int)elementOffset)).Slice(0, destination.Length).CopyTo(destination);
    }

    public override void Clear(long elementOffset, long count)
    {
        CheckRange(elementOffset, checked((int)(count * DType.Size())));
        Data.AsSpan((int)elementOffset, (int)count).Clear();
    }

    protected override void Release() => Data = [];
}
