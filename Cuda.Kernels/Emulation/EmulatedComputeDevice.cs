using System.Runtime.InteropServices;
using CudaNn.Cuda;

namespace CudaNn.Kernels.Emulation;

/// <summary>
/// The device seam on the host: a CUDA source built with g++ against CudaNn's emulator header, host memory
/// (a <see cref="DevicePtr"/> is a host address), and a host Sgemm with cuBLAS's column-major semantics.
/// Everything runs synchronously on the calling thread, in call order; captured streams record real work that
/// each graph launch runs again. Kernels run deterministically: see <see cref="WarpOrder"/>.
/// </summary>
/// <example><code>
/// using var device = new EmulatedComputeDevice(File.ReadAllText("kernels.cu"));
/// device.Launch(stream, "relu_forward", LaunchConfig.For1D(n), new KernelArguments().Add(x).Add(y).Add(n));
/// </code></example>
internal sealed unsafe class EmulatedComputeDevice : IComputeDevice
{
    /// <summary>Dynamic shared memory a launch may ask for, as on a GPU without the opt-in attribute.</summary>
    public const int MaxDynamicSharedBytes = 49152;

    private readonly HostMemory memory = new();
    private readonly EmulatorLibrary library;
    private readonly Dictionary<string, EmulatedKernel> kernels;
    private readonly EmulatorOptions options;
    private readonly HashSet<EmulatorLibrary> sources = [];
    private int capturingStreams;
    private bool disposed;

    /// <summary>
    /// Builds <paramref name="cudaSource"/> for the host (or takes it from the build cache) and loads it.
    /// Throws <see cref="EmulatorBuildException"/> with the compiler's messages when that fails.
    /// </summary>
    public EmulatedComputeDevice(string cudaSource, EmulatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cudaSource);
        options ??= new EmulatorOptions();
        Build = EmulatorBuild.Build(cudaSource, options);
        library = EmulatorLibrary.Load(Build.LibraryPath);
        kernels = library.Kernels.ToDictionary(k => k.Name);
        WarpOrder = options.WarpOrder;
        Name = $"host emulator ({options.ProgramName})";
        this.options = options;
    }

    /// <summary>
    /// Builds another CUDA source (a user's kernels) as this device's own source is built, with the same compiler and
    /// access checks, and returns its kernel <paramref name="kernelName"/>, which launches on this device's memory.
    /// </summary>
    public EmulatedKernel LoadSource(string cudaSource, string programName, string kernelName)
    {
        ThrowIfUnusable(nameof(LoadSource));
        var build = EmulatorBuild.Build(cudaSource, options with { ProgramName = programName });
        var loaded = EmulatorLibrary.Load(build.LibraryPath);
        lock (sources) sources.Add(loaded);
        return loaded.Kernels.FirstOrDefault(k => k.Name == kernelName)
            ?? throw new KeyNotFoundException($"{programName} has no extern \"C\" __global__ function named '{kernelName}'; it has: " +
                string.Join(", ", loaded.Kernels.Select(k => k.Name).DefaultIfEmpty("(none)")) + ".");
    }

    public string Name { get; }

    /// <summary>How the library was obtained: its path, whether it came from the cache, how long that took.</summary>
    public EmulatorBuildResult Build { get; }

    /// <summary>The kernels the source defines, in source order.</summary>
    public IReadOnlyList<string> KernelNames => library.Kernels.Select(k => k.Name).ToArray();

    /// <summary>The order of warps within a block for launches from now on (graph replays included).</summary>
    public WarpOrder WarpOrder { get; set; }

    public long MemoryInUse => memory.InUse;

    /// <summary>The host's caches are not the emulated device's: 0, none.</summary>
    public long L2CacheBytes => 0;

    public DevicePtr Allocate(long bytes)
    {
        ThrowIfUnusable(nameof(Allocate));
        return memory.Allocate(bytes);
    }

    /// <summary>Allocates as <see cref="Allocate(long)"/> does, naming the memory in reports of kernel accesses that miss it.</summary>
    public DevicePtr Allocate(long bytes, string purpose)
    {
        ThrowIfUnusable(nameof(Allocate));
        return memory.Allocate(bytes, purpose);
    }

    public void Free(DevicePtr pointer)
    {
        ThrowIfUnusable(nameof(Free));
        memory.Free(pointer);
    }

    public void CopyHostToDevice(DevicePtr destination, ReadOnlySpan<byte> source)
    {
        ThrowIfUnusable(nameof(CopyHostToDevice));
        memory.CheckRange(destination, source.Length, "CopyHostToDevice destination");
        source.CopyTo(new Span<byte>((void*)destination.Address, source.Length));
    }

    public void CopyDeviceToHost(Span<byte> destination, DevicePtr source)
    {
        ThrowIfUnusable(nameof(CopyDeviceToHost));
        memory.CheckRange(source, destination.Length, "CopyDeviceToHost source");
        new ReadOnlySpan<byte>((void*)source.Address, destination.Length).CopyTo(destination);
    }

    public void CopyDeviceToDevice(IDeviceStream stream, DevicePtr destination, DevicePtr source, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        bool overlap = destination.Address < source.Address + (ulong)bytes && source.Address < destination.Address + (ulong)bytes;
        if (bytes > 0 && overlap)
            throw new ArgumentException($"CopyDeviceToDevice ranges overlap: {bytes} bytes from {source} to {destination}.");
        Enqueue(stream, () =>
        {
            memory.CheckRange(source, bytes, "CopyDeviceToDevice source");
            memory.CheckRange(destination, bytes, "CopyDeviceToDevice destination");
            Buffer.MemoryCopy((void*)source.Address, (void*)destination.Address, bytes, bytes);
        });
    }

    public void Memset(IDeviceStream stream, DevicePtr destination, byte value, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Enqueue(stream, () =>
        {
            memory.CheckRange(destination, bytes, "Memset destination");
            NativeMemory.Fill((void*)destination.Address, (nuint)bytes, value);
        });
    }

    public void Memset32(IDeviceStream stream, DevicePtr destination, uint value, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (destination.Address % 4 != 0)
            throw new ArgumentException($"Memset32 needs a 4-byte aligned address, got {destination}.", nameof(destination));
        Enqueue(stream, () =>
        {
            memory.CheckRange(destination, count * 4, "Memset32 destination");
            new Span<uint>((void*)destination.Address, checked((int)count)).Fill(value);
        });
    }

    public IDeviceKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return kernels.TryGetValue(name, out EmulatedKernel? kernel)
            ? kernel
            : throw new KeyNotFoundException($"No kernel named '{name}' on the {Name}; it has: {string.Join(", ", KernelNames.DefaultIfEmpty("(none)"))}.");
    }

    /// <summary>Called with each kernel's name as it is launched or captured, for tests that check which kernels a piece of work runs.</summary>
    internal event Action<string>? Launching;

    public void Launch(IDeviceStream stream, IDeviceKernel kernel, LaunchConfig config, ReadOnlySpan<nint> arguments)
    {
        var emulated = kernel as EmulatedKernel;
        if (emulated is null || (emulated.Library != library && !IsLoadedSource(emulated.Library)))
            throw new ArgumentException($"Kernel '{kernel?.Name}' was not obtained from this emulated device.", nameof(kernel));
        config.Validated();
        if (config.SharedBytes > MaxDynamicSharedBytes)
            throw new ArgumentException($"{config.SharedBytes} bytes of dynamic shared memory requested for '{emulated.Name}'; a launch gets at most {MaxDynamicSharedBytes}.");
        if (arguments.Length != emulated.ParameterSizes.Count)
            throw new ArgumentException($"Kernel '{emulated.Name}' takes {emulated.ParameterSizes.Count} arguments, got {arguments.Length}.", nameof(arguments));
        for (int i = 0; i < arguments.Length; i++)
            if (arguments[i] == 0)
                throw new ArgumentException($"Argument {i} of '{emulated.Name}' is a null address; each entry must point at the argument's value.", nameof(arguments));

        Launching?.Invoke(emulated.Name);
        EmulatedStream target = EmulatedStream.From(stream, this);
        if (!target.IsCapturing)
        {
            emulated.Library.Launch(emulated, config, arguments, WarpOrder, memory);
            return;
        }
        // Captured: keep the values themselves, as cuLaunchKernel does; the caller's slots may be reused.
        byte[][] values = new byte[arguments.Length][];
        for (int i = 0; i < values.Length; i++)
            values[i] = new ReadOnlySpan<byte>((void*)arguments[i], emulated.ParameterSizes[i]).ToArray();
        target.Run(() => LaunchCopied(emulated, config, values));
    }

    private bool IsLoadedSource(EmulatorLibrary other)
    {
        lock (sources) return sources.Contains(other);
    }

    /// <summary>FP32, or TF32 or BF16 as the host Sgemm emulates them (<see cref="HostSgemm.Round"/>).</summary>
    public Precision GemmPrecision { get; set; }

    public void Sgemm(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc)
    {
        GemmArguments.Validate(transA, transB, m, n, k, lda, ldb, ldc);
        Enqueue(stream, Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
    }

    /// <summary>
    /// Epilogues to answer as cuBLASLt does when it has no kernel for a GEMM (nothing enqueued, the error
    /// <see cref="CublasLtHandle.IsNoKernel"/> knows), so tests can walk the fallback a GPU takes then.
    /// </summary>
    internal HashSet<GemmEpilogue> EpiloguesWithoutKernel { get; } = [];

    /// <summary>
    /// The host Sgemm, then <see cref="HostSgemm.ApplyEpilogue"/>: cuBLASLt's epilogues, every operand checked, as one
    /// operation of the stream (one node of a captured graph), as cuBLASLt's matmul is one kernel.
    /// </summary>
    public void SgemmEpilogue(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc,
        GemmEpilogue epilogue, DevicePtr bias, DevicePtr reluMask, int reluMaskLd)
    {
        GemmArguments.Validate(transA, transB, m, n, k, lda, ldb, ldc);
        GemmEpilogueArguments.Validate(epilogue, m, n, bias, reluMask, reluMaskLd);
        if (EpiloguesWithoutKernel.Contains(epilogue))
            throw CublasLtHandle.NoKernel($"for the {epilogue} epilogue, m={m}, n={n}, k={k} (transA={transA}, transB={transB}; the emulator was told cuBLASLt has none)");
        Action gemm = Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        long biasBytes = (epilogue == GemmEpilogue.BiasGradFromB ? n : m) * (long)sizeof(float);
        long maskBytes = GemmEpilogueArguments.UsesReluMask(epilogue) ? (long)reluMaskLd * n / 8 : 0;
        long bBytes = HostSgemm.Extent(transB == GemmOp.None ? k : n, transB == GemmOp.None ? n : k, ldb);
        Enqueue(stream, () =>
        {
            gemm();
            if (epilogue == GemmEpilogue.None || m == 0 || n == 0)
                return;
            memory.CheckRange(bias, biasBytes, $"{epilogue} bias");
            if (maskBytes > 0) memory.CheckRange(reluMask, maskBytes, $"{epilogue} ReLU mask");
            if (epilogue == GemmEpilogue.BiasGradFromB && k > 0) memory.CheckRange(b, bBytes, $"{epilogue} B");
            HostSgemm.ApplyEpilogue(epilogue, m, n, k, transB, (float*)b.Address, ldb, (float*)c.Address, ldc,
                (float*)bias.Address, (byte*)reluMask.Address, reluMaskLd);
        });
    }

    /// <summary>The work of one Sgemm, its sizes validated and its precision fixed at enqueue time, as cuBLAS picks its kernel at the call.</summary>
    private Action Gemm(GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc)
    {
        Precision precision = GemmPrecision; // fixed at enqueue time, as cuBLAS picks its kernel at the call
        bool readsAB = alpha != 0 && k != 0;
        long aBytes = HostSgemm.Extent(transA == GemmOp.None ? m : k, transA == GemmOp.None ? k : m, lda);
        long bBytes = HostSgemm.Extent(transB == GemmOp.None ? k : n, transB == GemmOp.None ? n : k, ldb);
        long cBytes = HostSgemm.Extent(m, n, ldc);
        return () =>
        {
            if (readsAB)
            {
                memory.CheckRange(a, aBytes, "Sgemm A");
                memory.CheckRange(b, bBytes, "Sgemm B");
            }
            memory.CheckRange(c, cBytes, "Sgemm C");
            HostSgemm.Run(transA, transB, m, n, k, alpha, (float*)a.Address, lda, (float*)b.Address, ldb, beta, (float*)c.Address, ldc, precision);
        };
    }

    public IDeviceStream CreateStream()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return new EmulatedStream(this);
    }

    /// <summary>The emulator's device memory is host memory: <paramref name="work"/> gets its address, checked at every run.</summary>
    public void EnqueueHostAccess(IDeviceStream stream, DevicePtr buffer, long bytes, Action<nint> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Enqueue(stream, () =>
        {
            memory.CheckRange(buffer, bytes, "host access");
            work((nint)buffer.Address);
        });
    }

    public IDeviceEvent CreateEvent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return new EmulatedEvent(this);
    }

    public void Synchronize() => ThrowIfUnusable(nameof(Synchronize));

    public void Dispose()
    {
        if (disposed)
            return;
        disposed = true;
        memory.Dispose();
    }

    internal void CaptureStarted() => capturingStreams++;

    internal void CaptureEnded() => capturingStreams--;

    private void Enqueue(IDeviceStream stream, Action work)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        EmulatedStream.From(stream, this).Run(work);
    }

    private void LaunchCopied(EmulatedKernel kernel, LaunchConfig config, byte[][] values)
    {
        var handles = values.Select(v => GCHandle.Alloc(v, GCHandleType.Pinned)).ToArray();
        try
        {
            Span<nint> pointers = stackalloc nint[handles.Length];
            for (int i = 0; i < handles.Length; i++)
                pointers[i] = handles[i].AddrOfPinnedObject();
            kernel.Library.Launch(kernel, config, pointers, WarpOrder, memory);
        }
        finally
        {
            foreach (GCHandle handle in handles)
                handle.Free();
        }
    }

    // CUDA rejects synchronous calls while a stream captures; so does the emulator, so CI catches them.
    private void ThrowIfUnusable(string operation)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (capturingStreams > 0)
            throw new InvalidOperationException($"{operation} is not allowed while a stream is capturing; call EndCapture first.");
    }
}
