using System.Runtime.InteropServices;

namespace CudaNn.Kernels.Emulation;

/// <summary>
/// The address range every emulated device allocation is placed in: reserved once per process, pages committed
/// only while an allocation holds them. Each allocation starts on a page and is followed by an unused red zone
/// (64 KiB up to its own size, at most 64 MiB), so an access a little past one allocation, or before the next, falls
/// in no allocation; the kernel access checks treat any address in the range as device memory and refuse those.
/// Freed pages go back to the system and become inaccessible; placement moves on through the range and comes back to
/// freed space only after wrapping around, so a stale pointer keeps pointing at freed memory for as long as possible.
/// </summary>
internal static unsafe partial class DeviceArena
{
    private const ulong Page = 4096;
    private const ulong MinRedZone = 64 * 1024;
    private const ulong MaxRedZone = 64 * 1024 * 1024;
    private const int ProtNone = 0, ProtReadWrite = 3;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    private const int MadviseDontNeed = 4;

    private static readonly Lock Gate = new();
    private static readonly List<(ulong Begin, ulong End)> Spans = []; // allocation plus red zone, sorted
    private static ulong begin, end, cursor;

    /// <summary>The reserved range [Begin, End); reserved on first use.</summary>
    public static (ulong Begin, ulong End) Range
    {
        get
        {
            lock (Gate)
            {
                EnsureReserved();
                return (begin, end);
            }
        }
    }

    /// <summary>Places and commits <paramref name="bytes"/> of zeroed memory; throws <see cref="OutOfMemoryException"/> when none is left.</summary>
    public static ulong Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        ulong committed = RoundUp((ulong)bytes);
        ulong span = committed + RoundUp(Math.Clamp((ulong)bytes, MinRedZone, MaxRedZone));
        lock (Gate)
        {
            EnsureReserved();
            ulong address = Place(span, cursor) ?? Place(span, begin + MinRedZone)
                ?? throw new OutOfMemoryException($"The host emulator's device memory range ({(end - begin) >> 30} GiB) has no room for {bytes} more bytes.");
            if (mprotect((void*)address, (nuint)committed, ProtReadWrite) != 0)
                throw new OutOfMemoryException($"The host emulator could not commit {bytes} bytes of device memory (mprotect: errno {Marshal.GetLastPInvokeError()}).");
            int index = Spans.BinarySearch((address, 0), SpanComparer.Instance);
            Spans.Insert(~index, (address, address + span));
            cursor = address + span;
            return address;
        }
    }

    /// <summary>Returns the pages of an allocation of <paramref name="bytes"/> at <paramref name="address"/> to the system.</summary>
    public static void Free(ulong address, long bytes)
    {
        ulong committed = RoundUp((ulong)bytes);
        lock (Gate)
        {
            int index = Spans.BinarySearch((address, 0), SpanComparer.Instance);
            if (index < 0)
                throw new InvalidOperationException($"0x{address:x} is not an allocation of the emulator's device memory range.");
            Spans.RemoveAt(index);
            madvise((void*)address, (nuint)committed, MadviseDontNeed);
            mprotect((void*)address, (nuint)committed, ProtNone);
        }
    }

    // The first gap at or after `from` that holds `span` bytes, or null.
    private static ulong? Place(ulong span, ulong from)
    {
        int next = Spans.BinarySearch((from, 0), SpanComparer.Instance);
        next = next < 0 ? ~next : next;
        ulong candidate = next > 0 && Spans[next - 1].End > from ? Spans[next - 1].End : from;
        for (; ; next++)
        {
            ulong limit = next < Spans.Count ? Spans[next].Begin : end;
            if (limit >= candidate && limit - candidate >= span)
                return candidate;
            if (next >= Spans.Count)
                return null;
            candidate = Math.Max(candidate, Spans[next].End);
        }
    }

    private static void EnsureReserved()
    {
        if (begin != 0)
            return;
        // Address space, not memory: nothing is committed until an allocation asks for it.
        foreach (int gib in new[] { 1024, 256, 64, 16 })
        {
            ulong size = (ulong)gib << 30;
            void* memory = mmap(null, (nuint)size, ProtNone, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
            if ((nint)memory == -1)
                continue;
            begin = (ulong)memory;
            end = begin + size;
            cursor = begin + MinRedZone;
            return;
        }
        throw new OutOfMemoryException("The host emulator could not reserve an address range of 16 GiB or more for its device memory.");
    }

    private static ulong RoundUp(ulong bytes) => (bytes + Page - 1) & ~(Page - 1);

    private sealed class SpanComparer : IComparer<(ulong Begin, ulong End)>
    {
        public static readonly SpanComparer Instance = new();

        public int Compare((ulong Begin, ulong End) x, (ulong Begin, ulong End) y) => x.Begin.CompareTo(y.Begin);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mprotect(void* address, nuint length, int protection);

    [LibraryImport("libc")]
    private static partial int madvise(void* address, nuint length, int advice);
}
