using System.Runtime.InteropServices;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// Per-thread packing buffers, allocated once per thread and element type at the largest block size,
/// cache-line aligned; so a GEMM call in steady state allocates nothing.
/// </summary>
internal sealed unsafe class CpuGemmBuffers<T> where T : unmanaged
{
    [ThreadStatic]
    private static CpuGemmBuffers<T>? s_current;

    public readonly T* PackedA;
    public readonly T* PackedB;

    private CpuGemmBuffers(int aElements, int bElements)
    {
        PackedA = (T*)NativeMemory.AlignedAlloc((nuint)(aElements * sizeof(T)), 64);
        PackedB = (T*)NativeMemory.AlignedAlloc((nuint)(bElements * sizeof(T)), 64);
    }

    /// <summary>This thread's buffers; sizes are fixed by the blocking constants, so one allocation serves every call.</summary>
    public static CpuGemmBuffers<T> ForCurrentThread(int aElements, int bElements) =>
        s_current ??= new CpuGemmBuffers<T>(aElements, bElements);

    // Runs when the owning thread has died and nothing else can reach the buffers.
    ~CpuGemmBuffers()
    {
        NativeMemory.AlignedFree(PackedA);
        NativeMemory.AlignedFree(PackedB);
    }
}
