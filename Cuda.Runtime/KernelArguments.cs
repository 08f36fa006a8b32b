using System.Runtime.CompilerServices;

namespace CudaNn.Cuda;

/// <summary>
/// Kernel arguments packed the way cuLaunchKernel takes them: each value stored in a pinned buffer, and
/// <see cref="Pointers"/> the <c>void**</c> array of their addresses, in declaration order. Reusable:
/// <see cref="Clear"/> and add again. Values must match the kernel's C parameter types exactly
/// (int vs long, float vs double; a <see cref="DevicePtr"/> for a pointer).
/// </summary>
internal sealed unsafe class KernelArguments
{
    // 8-byte slots keep every scalar and pointer naturally aligned; larger structs take several slots.
    private const int SlotSize = 8;
    private byte[] values = GC.AllocateArray<byte>(16 * SlotSize, pinned: true);
    private nint[] pointers = GC.AllocateArray<nint>(16, pinned: true);
    private readonly List<int> offsets = [];
    private int used;

    /// <summary>Number of arguments added.</summary>
    public int Count => offsets.Count;

    /// <summary>Appends one argument by value.</summary>
    public KernelArguments Add<T>(T value) where T : unmanaged
    {
        int size = sizeof(T);
        int slotBytes = (size + SlotSize - 1) / SlotSize * SlotSize;
        if (used + slotBytes > values.Length)
        {
            byte[] larger = GC.AllocateArray<byte>(Math.Max(values.Length * 2, used + slotBytes), pinned: true);
            values.AsSpan(0, used).CopyTo(larger);
            values = larger;
        }
        Unsafe.WriteUnaligned(ref values[used], value);
        offsets.Add(used);
        used += slotBytes;
        return this;
    }

    /// <summary>Removes every argument, keeping the buffers.</summary>
    public KernelArguments Clear()
    {
        offsets.Clear();
        used = 0;
        return this;
    }

    /// <summary>The address of each argument value, valid until the next <see cref="Add{T}"/> or <see cref="Clear"/>.</summary>
    public ReadOnlySpan<nint> Pointers
    {
        get
        {
            if (pointers.Length < offsets.Count)
                pointers = GC.AllocateArray<nint>(Math.Max(pointers.Length * 2, offsets.Count), pinned: true);
            byte* start = (byte*)Unsafe.AsPointer(ref values[0]);
            for (int i = 0; i < offsets.Count; i++)
                pointers[i] = (nint)(start + offsets[i]);
            return pointers.AsSpan(0, offsets.Count);
        }
    }
}
