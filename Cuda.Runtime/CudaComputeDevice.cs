using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// The device seam on a real GPU: the primary context of one <see cref="CudaGpu"/>, its allocations,
/// the modules loaded with <see cref="LoadModule"/>, and one cuBLAS handle with a workspace of its own, made once
/// (so GEMMs captured into a graph allocate nothing and the graph holds no memory of cuBLAS's); the GEMMs with an
/// epilogue go to a cuBLASLt handle, made on the first of them, that uses the same workspace. Disposing frees
/// whatever is still allocated and unloads the modules.
/// </summary>
internal sealed unsafe class CudaComputeDevice : IComputeDevice
{
    private readonly Dictionary<ulong, (DeviceMemoryHandle Memory, long Bytes)> allocations = [];
    private readonly List<CudaModule> modules = [];
    private readonly Dictionary<string, CudaKernel> kernels = [];
    private readonly List<CudaStream> streams = [];
    private readonly CublasHandle cublas;
    private readonly DeviceMemoryHandle cublasWorkspace;
    private CublasLtHandle? cublasLt;
    private CudaStream? cublasStream;
    private bool disposed;

    public CudaComputeDevice(CudaGpu device, Precision precision = Precision.FP32)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
        Context = device.PrimaryContext;
        cublas = new CublasHandle(Context);
        GemmPrecision = precision;
        CublasWorkspaceBytes = RecommendedCublasWorkspace(device.ComputeCapability);
        cublasWorkspace = new DeviceMemoryHandle(Context);
        cublasWorkspace.Attach((nint)Context.AllocateBytes(CublasWorkspaceBytes, "the cuBLAS workspace"));
        cublas.SetWorkspace(new DevicePtr(cublasWorkspace.Address), CublasWorkspaceBytes);
    }

    /// <summary>
    /// FP32 and TF32 are cuBLAS's math mode for cublasSgemm (cublasSetMathMode); BF16 sends the GEMMs to cublasGemmEx
    /// with CUBLAS_COMPUTE_32F_FAST_16BF instead.
    /// </summary>
    public Precision GemmPrecision
    {
        get => gemmPrecision;
        set
        {
            if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(nameof(Precision), value, "unknown GEMM precision");
            cublas.SetMathMode(value);
            gemmPrecision = value;
        }
    }

    private Precision gemmPrecision;

    /// <summary>The cuBLAS workspace: 32 MiB on Hopper and newer, 4 MiB before, as NVIDIA's cuBLAS guide recommends.</summary>
    public long CublasWorkspaceBytes { get; }

    private static long RecommendedCublasWorkspace(ComputeCapability capability) => (capability.Major >= 9 ? 32L : 4L) << 20;

    /// <summary>The usable device <paramref name="ordinal"/>; throws <see cref="CudaUnavailableException"/> with the reason otherwise.</summary>
    public static CudaComputeDevice Open(int ordinal = 0) => new(CudaGpu.Get(ordinal));

    public CudaGpu Device { get; }

    internal CudaContext Context { get; }

    public string Name => Device.Name;

    public long L2CacheBytes => Device.L2CacheBytes;

    public long MemoryInUse { get; private set; }

    /// <summary>Loads a PTX or CUBIN image; its kernels become reachable through <see cref="GetKernel"/>.</summary>
    internal CudaModule LoadModule(ReadOnlySpan<byte> image)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CudaModule module = Context.LoadModule(image);
        modules.Add(module);
        return module;
    }

    public DevicePtr Allocate(long bytes)
    {
        ThrowIfCapturing(nameof(Allocate));
        var memory = new DeviceMemoryHandle(Context);
        memory.Attach((nint)Context.AllocateBytes(bytes, null));
        allocations.Add(memory.Address, (memory, bytes));
        MemoryInUse += bytes;
        return new DevicePtr(memory.Address);
    }

    public void Free(DevicePtr pointer)
    {
        ThrowIfCapturing(nameof(Free));
        if (!allocations.Remove(pointer.Address, out var allocation))
            throw new ArgumentException($"{pointer} is not a live allocation of this device (freed twice, or never allocated here).", nameof(pointer));
        MemoryInUse -= allocation.Bytes;
        // cuMemFree waits for pending work that uses the memory, as the seam promises.
        allocation.Memory.Dispose();
    }

    public void CopyHostToDevice(DevicePtr destination, ReadOnlySpan<byte> source)
    {
        Context.MakeCurrent();
        fixed (byte* host = source)
            Check(Driver.cuMemcpyHtoD_v2(destination.Address, host, (nuint)source.Length));
    }

    public void CopyDeviceToHost(Span<byte> destination, DevicePtr source)
    {
        Context.MakeCurrent();
        fixed (byte* host = destination)
            Check(Driver.cuMemcpyDtoH_v2(host, source.Address, (nuint)destination.Length));
    }

    public void CopyDeviceToDevice(IDeviceStream stream, DevicePtr destination, DevicePtr source, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        nint raw = CudaStream.From(stream).Handle;
        Context.MakeCurrent();
        Check(Driver.cuMemcpyDtoDAsync_v2(destination.Address, source.Address, (nuint)bytes, raw));
    }

    public void Memset(IDeviceStream stream, DevicePtr destination, byte value, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        nint raw = CudaStream.From(stream).Handle;
        Context.MakeCurrent();
        Check(Driver.cuMemsetD8Async(destination.Address, value, (nuint)bytes, raw));
    }

    public void Memset32(IDeviceStream stream, DevicePtr destination, uint value, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (destination.Address % 4 != 0)
            throw new ArgumentException($"Memset32 needs a 4-byte aligned address, got {destination}.", nameof(destination));
        nint raw = CudaStream.From(stream).Handle;
        Context.MakeCurrent();
        Check(Driver.cuMemsetD32Async(destination.Address, value, (nuint)count, raw));
    }

    /// <summary>The kernel from the most recently loaded module that has one with this name.</summary>
    public IDeviceKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (kernels.TryGetValue(name, out CudaKernel? cached))
            return cached;
        for (int i = modules.Count - 1; i >= 0; i--)
        {
            if (modules[i].TryGetKernel(name, out CudaKernel? kernel))
                return kernels[name] = kernel;
        }
        throw new KeyNotFoundException($"No kernel named '{name}' in the {modules.Count} module(s) loaded on {Name}.");
    }

    public void Launch(IDeviceStream stream, IDeviceKernel kernel, LaunchConfig config, ReadOnlySpan<nint> arguments)
    {
        var cudaKernel = kernel as CudaKernel ?? throw new ArgumentException($"Kernel '{kernel?.Name}' was not obtained from a CUDA device.", nameof(kernel));
        cudaKernel.Launch(CudaStream.From(stream), config, arguments);
    }

    public void Sgemm(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc)
    {
        UseCublasOn(CudaStream.From(stream));
        if (gemmPrecision == Precision.BF16) cublas.SgemmBf16(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else cublas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>
    /// cuBLASLt's matmul with the epilogue, at <see cref="GemmPrecision"/>. It shares cuBLAS's workspace as cuBLAS's own
    /// GEMMs share it whatever their stream: GEMMs enqueued in order on one stream never use it at once. Throws
    /// <see cref="CudaUnavailableException"/> where libcublasLt cannot be loaded.
    /// </summary>
    public void SgemmEpilogue(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc,
        GemmEpilogue epilogue, DevicePtr bias, DevicePtr reluMask, int reluMaskLd)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CudaStream cudaStream = CudaStream.From(stream);
        cublasLt ??= new CublasLtHandle(Context);
        cublasLt.Matmul(cudaStream, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, bias, reluMask, reluMaskLd,
            gemmPrecision, new DevicePtr(cublasWorkspace.Address), CublasWorkspaceBytes);
    }

    public IDeviceStream CreateStream()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        streams.RemoveAll(s => s.IsDisposed);
        CudaStream stream = Context.CreateStream();
        streams.Add(stream);
        return stream;
    }

    // cublasSetStream resets the workspace to cuBLAS's own pool, so both are set only when the stream changes
    // (never inside a capture that began on the same stream).
    private void UseCublasOn(CudaStream stream)
    {
        if (ReferenceEquals(stream, cublasStream) && !stream.IsDisposed)
            return;
        cublas.SetStream(stream);
        cublas.SetWorkspace(new DevicePtr(cublasWorkspace.Address), CublasWorkspaceBytes);
        cublasStream = stream;
    }

    // CUDA refuses cuMemAlloc/cuMemFree while a stream captures (and the capture is then invalid); say so plainly first.
    private void ThrowIfCapturing(string operation)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (streams.Any(s => !s.IsDisposed && s.IsCapturing))
            throw new InvalidOperationException($"{operation} is not allowed while a stream is capturing; call EndCapture first.");
    }

    public IDeviceEvent CreateEvent() => Context.CreateEvent();

    /// <summary>Device memory is not host memory here: collectives on a GPU go through NCCL on the stream instead.</summary>
    public void EnqueueHostAccess(IDeviceStream stream, DevicePtr buffer, long bytes, Action<nint> work) =>
        throw new NotSupportedException($"{Name}: a GPU's memory is not host memory; run collectives on it through NCCL");

    public void Synchronize() => Context.Synchronize();

    public void Dispose()
    {
        if (disposed)
            return;
        disposed = true;
        cublasLt?.Dispose();
        cublas.Dispose();
        cublasWorkspace.Dispose();
        foreach (var (memory, _) in allocations.Values)
            memory.Dispose();
        allocations.Clear();
        MemoryInUse = 0;
        kernels.Clear();
        foreach (CudaModule module in modules)
            module.Dispose();
        modules.Clear();
    }
}
