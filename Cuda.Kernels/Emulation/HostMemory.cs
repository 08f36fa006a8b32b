using System.Runtime.InteropServices;
using CudaNn.Cuda;

namespace CudaNn.Kernels.Emulation;

/// <summary>
/// The emulated device's memory: host pages in <see cref="DeviceArena"/>, whose addresses kernels dereference
/// directly. Every copy, memset and GEMM operand is checked here to lie inside one live allocation; kernels' own loads
/// and stores are checked against <see cref="Map"/>, the same allocations laid out for the native checks. Fresh
/// allocations hold 0xFF bytes (NaN as float, -1 as int), as a GPU's hold whatever was there: a kernel that reads
/// memory nothing wrote shows it.
/// </summary>
internal sealed unsafe class HostMemory : IDisposable
{
    private const int FreedHistory = 4096;
    private readonly SortedList<ulong, Allocation> live = [];
    private readonly SortedList<ulong, Allocation> freed = []; // the latest frees, for "was freed" in reports
    private readonly Queue<ulong> freedOrder = new();
    private readonly MemoryMap* map;
    private long serial;

    public HostMemory()
    {
        map = (MemoryMap*)NativeMemory.AllocZeroed((nuint)sizeof(MemoryMap));
        (map->ArenaBegin, map->ArenaEnd) = DeviceArena.Range;
    }

    /// <summary>Bytes allocated and not yet freed.</summary>
    public long InUse { get; private set; }

    /// <summary>The live allocations as the native access checks read them (cuda_emulator_runtime.h's MemoryMap).</summary>
    public MemoryMap* Map => map;

    public DevicePtr Allocate(long bytes, string? purpose = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        ulong address = DeviceArena.Allocate(bytes);
        NativeMemory.Fill((void*)address, (nuint)bytes, 0xff);
        live.Add(address, new Allocation(bytes, ++serial, purpose));
        ForgetFreedOverlapping(address, bytes);
        InUse += bytes;
        RebuildMap();
        return new DevicePtr(address);
    }

    public void Free(DevicePtr pointer)
    {
        if (!live.Remove(pointer.Address, out Allocation? allocation))
            throw new ArgumentException($"{pointer} is not a live allocation of this device (freed twice, or never allocated here).", nameof(pointer));
        DeviceArena.Free(pointer.Address, allocation.Bytes);
        InUse -= allocation.Bytes;
        RebuildMap();
        freed[pointer.Address] = allocation;
        freedOrder.Enqueue(pointer.Address);
        while (freedOrder.Count > FreedHistory)
            freed.Remove(freedOrder.Dequeue());
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless [start, start + bytes) lies inside one live allocation.</summary>
    public void CheckRange(DevicePtr start, long bytes, string what)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes, what);
        if (bytes == 0)
            return;
        int index = LastStartAtOrBefore(live, start.Address);
        if (index >= 0 && start.Address - live.Keys[index] + (ulong)bytes <= (ulong)live.Values[index].Bytes)
            return;
        throw new ArgumentException($"{what}: {bytes} bytes at {start} lie outside every live allocation: {Describe(start.Address, bytes)}.");
    }

    /// <summary>
    /// Where [address, address + bytes) lies against this device's allocations, for a report: "4 bytes past the end of
    /// the 400-byte allocation #3 at 0x...", "inside the ... allocation ..., which was freed", or the nearest one.
    /// </summary>
    public string Describe(ulong address, long bytes)
    {
        if (address < map->ArenaBegin || address >= map->ArenaEnd)
            return "not inside any live allocation of this device (nor in the emulator's device memory range)";
        int index = LastStartAtOrBefore(freed, address);
        if (index >= 0 && address < freed.Keys[index] + (ulong)freed.Values[index].Bytes && !Overlaps(address))
            return $"inside {Name(freed.Keys[index], freed.Values[index])}, which was freed";

        int before = LastStartAtOrBefore(live, address);
        int after = before + 1 < live.Count ? before + 1 : -1;
        if (before >= 0)
        {
            ulong start = live.Keys[before], end = start + (ulong)live.Values[before].Bytes;
            if (address < end)
                return $"running {address + (ulong)bytes - end} bytes past the end of {Name(start, live.Values[before])}";
            if (after < 0 || address - end <= live.Keys[after] - address)
                return $"{address - end} bytes past the end of {Name(start, live.Values[before])}";
        }
        if (after >= 0)
            return $"{live.Keys[after] - address} bytes before the start of {Name(live.Keys[after], live.Values[after])}";
        return "this device has no live allocation";
    }

    public void Dispose()
    {
        foreach (var (address, allocation) in live)
            DeviceArena.Free(address, allocation.Bytes);
        live.Clear();
        InUse = 0;
        NativeMemory.Free(map->Live);
        NativeMemory.Free(map);
    }

    private static string Name(ulong address, Allocation allocation) =>
        $"the {allocation.Bytes}-byte allocation #{allocation.Serial} at 0x{address:x}" + (allocation.Purpose is null ? "" : $" ({allocation.Purpose})");

    private bool Overlaps(ulong address)
    {
        int index = LastStartAtOrBefore(live, address);
        return index >= 0 && address < live.Keys[index] + (ulong)live.Values[index].Bytes;
    }

    // The arena hands out freed space again only after wrapping around; a report must not call that space freed.
    private void ForgetFreedOverlapping(ulong address, long bytes)
    {
        for (int i = Math.Max(0, LastStartAtOrBefore(freed, address)); i < freed.Count && freed.Keys[i] < address + (ulong)bytes;)
        {
            if (freed.Keys[i] + (ulong)freed.Values[i].Bytes > address)
                freed.RemoveAt(i);
            else
                i++;
        }
    }

    // Allocations and frees happen between launches, never during one, so the table is rebuilt whole each time.
    private void RebuildMap()
    {
        NativeMemory.Free(map->Live);
        map->Live = (MemoryRange*)NativeMemory.Alloc((nuint)Math.Max(1, live.Count), (nuint)sizeof(MemoryRange));
        for (int i = 0; i < live.Count; i++)
            map->Live[i] = new MemoryRange { Begin = live.Keys[i], End = live.Keys[i] + (ulong)live.Values[i].Bytes };
        map->LiveCount = live.Count;
    }

    private static int LastStartAtOrBefore(SortedList<ulong, Allocation> allocations, ulong address)
    {
        IList<ulong> starts = allocations.Keys;
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

    private sealed record Allocation(long Bytes, long Serial, string? Purpose);
}

/// <summary>cuda_emulator_runtime.h's MemoryRange: one live allocation, [Begin, End).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemoryRange
{
    public ulong Begin, End;
}

/// <summary>cuda_emulator_runtime.h's MemoryMap: the arena and the live allocations in it, sorted.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MemoryMap
{
    public ulong ArenaBegin, ArenaEnd;
    public MemoryRange* Live;
    public long LiveCount;
}

/// <summary>cuda_emulator_runtime.h's MemoryFault: the access a launch's checks refused.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemoryFault
{
    public const int Device = 1, Shared = 2;
    public ulong Address, Bytes;
    public int Write, Space;
}
