namespace CudaNn.Cuda;

/// <summary>
/// The device seam: everything the CUDA backend needs from a GPU, and nothing more. Two implementations:
/// <see cref="CudaComputeDevice"/> (driver API + cuBLAS on a real GPU) and the host emulator (host memory,
/// kernels.cu built with g++). Code written against this interface runs unchanged on both.
/// </summary>
/// <remarks>
/// <para>Ordering follows CUDA. Operations that take an <see cref="IDeviceStream"/> are enqueued on it and run in
/// enqueue order relative to that stream; they may still be running when the call returns. Host copies are
/// synchronous: they run after everything enqueued on any stream so far and return once complete.</para>
/// <para>While a stream is capturing (<see cref="IDeviceStream.BeginCapture"/>), work enqueued on it is recorded,
/// not run; it runs each time the resulting graph is launched. Synchronous calls (host copies, Allocate, Free,
/// Synchronize) are not allowed on the capturing thread meanwhile.</para>
/// <para>Pointer-order convention: destination first, then source, as in CUDA's memcpy family.
/// Failures throw an exception naming the operation; bad arguments throw <see cref="ArgumentException"/>.
/// Implementations are used from one thread at a time.</para>
/// </remarks>
internal interface IComputeDevice : IDisposable
{
    /// <summary>What the device is, for logs: "NVIDIA H100 80GB HBM3" or "host emulator".</summary>
    string Name { get; }

    /// <summary>The device's L2 cache in bytes; 0 where there is none to speak of (the emulator).</summary>
    long L2CacheBytes { get; }

    /// <summary>Bytes allocated by <see cref="Allocate(long)"/> and not yet freed (leak tests compare it before and after).</summary>
    long MemoryInUse { get; }

    /// <summary>Allocates <paramref name="bytes"/> (&gt; 0) of uninitialised device memory, aligned to at least 256 bytes.</summary>
    DevicePtr Allocate(long bytes);

    /// <summary>
    /// Allocates as <see cref="Allocate(long)"/> does; <paramref name="purpose"/> ("the layer-norm workspace") names the
    /// memory in reports of accesses that miss it, where the device makes them (the host emulator does).
    /// </summary>
    DevicePtr Allocate(long bytes, string purpose) => Allocate(bytes);

    /// <summary>
    /// Frees memory returned by <see cref="Allocate(long)"/>, after work already enqueued that uses it has finished.
    /// Throws <see cref="ArgumentException"/> for an address that is not a live allocation of this device.
    /// </summary>
    void Free(DevicePtr pointer);

    /// <summary>Copies <paramref name="source"/> to device memory at <paramref name="destination"/> (synchronous).</summary>
    void CopyHostToDevice(DevicePtr destination, ReadOnlySpan<byte> source);

    /// <summary>Copies <c>destination.Length</c> bytes from device memory at <paramref name="source"/> (synchronous).</summary>
    void CopyDeviceToHost(Span<byte> destination, DevicePtr source);

    /// <summary>Enqueues copying <paramref name="bytes"/> between device addresses; the ranges must not overlap.</summary>
    void CopyDeviceToDevice(IDeviceStream stream, DevicePtr destination, DevicePtr source, long bytes);

    /// <summary>Enqueues setting <paramref name="bytes"/> bytes at <paramref name="destination"/> to <paramref name="value"/>.</summary>
    void Memset(IDeviceStream stream, DevicePtr destination, byte value, long bytes);

    /// <summary>
    /// Enqueues setting <paramref name="count"/> 32-bit words at <paramref name="destination"/> (4-byte aligned) to
    /// <paramref name="value"/>, e.g. <c>BitConverter.SingleToUInt32Bits(float.NaN)</c> to poison a float buffer.
    /// </summary>
    void Memset32(IDeviceStream stream, DevicePtr destination, uint value, long count);

    /// <summary>
    /// The loaded kernel with this <c>extern "C"</c> name (how kernels get loaded is up to the implementation).
    /// Throws <see cref="KeyNotFoundException"/> naming the kernel when there is none.
    /// </summary>
    IDeviceKernel GetKernel(string name);

    /// <summary>
    /// Enqueues <paramref name="kernel"/> with <paramref name="config"/>. <paramref name="arguments"/> is exactly
    /// cuLaunchKernel's <c>void**</c>: one address per kernel parameter, in order, each pointing at the
    /// parameter's value (a <see cref="DevicePtr"/> for a pointer parameter). The values are copied before the
    /// call returns, so they may live on the caller's stack; see <see cref="KernelArguments"/>.
    /// </summary>
    void Launch(IDeviceStream stream, IDeviceKernel kernel, LaunchConfig config, ReadOnlySpan<nint> arguments);

    /// <summary>
    /// Enqueues C = alpha·op(A)·op(B) + beta·C with cuBLAS semantics: column-major storage, op(A) is m×k,
    /// op(B) is k×n, C is m×n, with leading dimensions lda, ldb, ldc (see <see cref="GemmArguments.Validate"/>).
    /// When beta is 0, C is not read (NaN there is overwritten). FP32 inputs, FP32 accumulation.
    /// </summary>
    void Sgemm(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc);

    /// <summary>
    /// <see cref="Sgemm"/> with <paramref name="epilogue"/> applied to the result on the way out (cuBLASLt's matmul on a
    /// GPU): a bias added, a ReLU with its mask, ReLU's backward from that mask, or a bias gradient, as
    /// <see cref="GemmEpilogue"/> defines them. <paramref name="bias"/> is read or written as the epilogue says and
    /// <paramref name="reluMask"/> (leading dimension <paramref name="reluMaskLd"/> bits, a multiple of 128 no less than m)
    /// only by the ReLU epilogues; each may be null otherwise. At <see cref="GemmPrecision"/>, like every GEMM.
    /// </summary>
    void SgemmEpilogue(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc,
        GemmEpilogue epilogue, DevicePtr bias, DevicePtr reluMask, int reluMaskLd);

    /// <summary>
    /// How the GEMMs enqueued from now on compute: FP32 (the default), or on tensor cores with A's and B's elements
    /// rounded to TF32 or BF16, accumulating in FP32. A GEMM captured into a graph keeps the precision it was captured with.
    /// </summary>
    Precision GemmPrecision { get; set; }

    /// <summary>A new stream; dispose it when done.</summary>
    IDeviceStream CreateStream();

    /// <summary>A new event, for timing and for ordering one stream after another.</summary>
    IDeviceEvent CreateEvent();

    /// <summary>
    /// Runs <paramref name="work"/> on the host in stream order (after the work enqueued before it, before the work after
    /// it), giving it the host address of the <paramref name="bytes"/> at <paramref name="buffer"/>; while the stream is
    /// capturing it is recorded, and runs again at every replay. Only where device memory is host memory: the emulator
    /// runs MPI collectives this way where a GPU runs NCCL's on its stream. A GPU throws <see cref="NotSupportedException"/>.
    /// </summary>
    void EnqueueHostAccess(IDeviceStream stream, DevicePtr buffer, long bytes, Action<nint> work);

    /// <summary>Blocks until all work enqueued on every stream has finished.</summary>
    void Synchronize();
}

/// <summary>An ordered queue of device work (see <see cref="IComputeDevice"/> for the ordering rules).</summary>
internal interface IDeviceStream : IDisposable
{
    /// <summary>Blocks until everything enqueued on this stream so far has finished.</summary>
    void Synchronize();

    /// <summary>Later work on this stream waits until <paramref name="deviceEvent"/> has completed.</summary>
    void Wait(IDeviceEvent deviceEvent);

    /// <summary>Starts recording: work enqueued on this stream from now on is recorded into a graph instead of running.</summary>
    void BeginCapture();

    /// <summary>
    /// Stops recording and returns the recorded work as a graph ready to launch. Kernel arguments and sizes are
    /// frozen at their captured values; every launch reads and writes the same device addresses.
    /// </summary>
    IDeviceGraph EndCapture();
}

/// <summary>A marker enqueued on a stream; it completes when the work before it has.</summary>
internal interface IDeviceEvent : IDisposable
{
    /// <summary>Enqueues this event on <paramref name="stream"/>.</summary>
    void Record(IDeviceStream stream);

    /// <summary>Blocks until the event has completed.</summary>
    void Synchronize();

    /// <summary>Whether the work before the event has completed, without waiting (cuEventQuery), so a caller can wait with a deadline.</summary>
    bool IsComplete { get; }

    /// <summary>Milliseconds between <paramref name="start"/> and this event, both recorded and completed.</summary>
    float ElapsedMillisecondsSince(IDeviceEvent start);
}

/// <summary>Recorded stream work that can be replayed as one unit.</summary>
internal interface IDeviceGraph : IDisposable
{
    /// <summary>Enqueues one replay of the recorded work on <paramref name="stream"/>.</summary>
    void Launch(IDeviceStream stream);

    /// <summary>
    /// The operations a replay runs: on a GPU the graph's nodes (kernels, copies, memsets, cuBLAS's own kernels
    /// included); on the emulator each recorded operation (a GEMM is one).
    /// </summary>
    int NodeCount { get; }
}

/// <summary>A kernel found by name on a device.</summary>
internal interface IDeviceKernel
{
    /// <summary>The kernel's <c>extern "C"</c> name, e.g. "relu_forward".</summary>
    string Name { get; }
}
