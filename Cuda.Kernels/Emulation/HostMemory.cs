using System.Runtime.InteropServices;
using CudaNn.Cuda;

namespace CudaNn.Kernels.Emulation;

/// <summary>
/// The emulated device's memory: 256-byte aligned host allocations, whose addresses kernels dereference directly.
/// Every copy, memset and GEMM operand is checked to lie inside one live allocation, so a bad pointer gives an
/// exception naming it instead of corrupting the process.
/// </summary>
internal sealed unsafe class HostMemory : IDisposable
{
    private const int Alignment = 256;
    private readonly SortedList<ulong, long> live = [];

    /// <summary>Bytes allocated and not yet freed.</summary>
    public long InUse { get; private set; }

    public DevicePtr Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        void* memory = NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
        live.Add((ulong)memory, bytes);
        InUse += bytes;
        return new DevicePtr((ulong)memory);
    }

    public void Free(DevicePtr pointer)
    {
        if (!live.Remove(pointer.Address, out long bytes))
            throw new ArgumentException($"{pointer} is not a live allocation of this device (freed twice, or never allocated here).", nameof(pointer));
        NativeMemory.AlignedFree((void*)pointer.Address);
        InUse -= bytes;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless [start, start + bytes) lies inside one live allocation.</summary>
    public void CheckRange(DevicePtr start, long bytes, string what)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes, what);
        if (bytes == 0)
            return;
        int index = LastStartAtOrBefore(start.Address);
        if (index >= 0)
        {
            ulong begin = live.Keys[index];
            long size = live.Values[index];
            if (start.Address - begin + (ulong)bytes <= (ulong)size)
                return;
            throw new ArgumentException($"{what}: {bytes} bytes at {start} run past the end of the {size}-byte allocation at 0x{begin:x}.");
        }
        throw new ArgumentException($"{what}: {start} is not inside any live allocation of this device.");
    }

    public void Dispose()
    {
        foreach (ulong address in live.Keys)
            NativeMemory.AlignedFree((void*)address);
        live.Clear();
        InUse = 0;
    }

    private int LastStartAtOrBefore(ulong address)
    {
        IList<ulong> starts = live.Keys;
        int low = 0, high = starts.Count - 1, found = -1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            if (starts[middle] <= address)
            {
                found = middle;
                low = middle + 1;
            }
            else
                high = middle - 1;
        }
        return found;
    }
}
