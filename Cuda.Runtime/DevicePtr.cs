namespace CudaNn.Cuda;

/// <summary>
/// An address in a compute device's memory: a CUdeviceptr on a GPU, a host address on the emulator.
/// It is only a number; ownership lives with whoever allocated it. Pass it to kernels as the pointer
/// argument itself (its 8 bytes are the address).
/// </summary>
internal readonly record struct DevicePtr(ulong Address)
{
    /// <summary>The null device pointer.</summary>
    public static readonly DevicePtr Null = default;

    public bool IsNull => Address == 0;

    /// <summary>The address <paramref name="bytes"/> further on: <c>Address + bytes</c>.</summary>
    public DevicePtr Offset(long bytes) => new(checked((ulong)((long)Address + bytes)));

    /// <summary>The address of element <paramref name="index"/> of an array of <typeparamref name="T"/> starting here.</summary>
    public unsafe DevicePtr Element<T>(long index) where T : unmanaged => Offset(checked(index * sizeof(T)));

    public override string ToString() => $"0x{Address:x}";
}
