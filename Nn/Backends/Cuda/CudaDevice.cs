using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Backends.Cuda;

/// <summary>
/// A device that runs the CUDA backend over the device seam: a real GPU ("cuda:0") or the host emulator
/// ("emulator"), which runs the same kernels.cu on the CPU. All work goes to one stream, in order; host
/// copies wait for it. Tensors on it are float32 for computing (int32 and uint8 for labels, indices and data).
/// </summary>
public sealed class CudaDevice : Device, IDisposable
{
    private readonly CudaBackend _backend;
    private StepPlan _plan;

    internal CudaDevice(IComputeDevice compute, DeviceKernels kernels, string name, DeviceKind kind)
    {
        Compute = compute;
        Kernels = kernels;
        Name = name;
        Kind = kind;
        Stream = compute.CreateStream();
        _backend = new CudaBackend(this);
    }

    public override string Name { get; }
    public override DeviceKind Kind { get; }

    /// <summary>The device seam implementation underneath: memory, launches, cuBLAS.</summary>
    internal IComputeDevice Compute { get; }

    /// <summary>The typed kernel launchers of kernels.cu on this device.</summary>
    internal DeviceKernels Kernels { get; }

    /// <summary>The stream all of this device's work is enqueued on.</summary>
    internal IDeviceStream Stream { get; }

    /// <summary>What the hardware is, e.g. "NVIDIA H100 80GB HBM3" or "host emulator".</summary>
    public string Description => Compute.Name;

    /// <summary>
    /// How an MLP's Linear layers and activations run on this device (<see cref="StepPlan"/>): Layers, the default,
    /// Epilogues (cuBLASLt) or Fused (three kernels a step). Where the plan does not apply (Fused beyond 4 layers of 128
    /// outputs, or with a <see cref="Precision"/> other than FP32) a run takes Layers. Set it between steps: captured
    /// training steps are captured again.
    /// </summary>
    public StepPlan Plan
    {
        get => _plan;
        set
        {
            if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "not a StepPlan");
            if (value == _plan) return;
            _plan = value;
            NoteCapturedStateChanged();
        }
    }

    /// <summary>The L2 cache in bytes (the card's own attribute); 0 on the emulator.</summary>
    public long L2CacheBytes => Compute.L2CacheBytes;

    /// <summary>Device memory held by tensors and workspaces now.</summary>
    public long MemoryInUse => Compute.MemoryInUse;

    public bool IsDisposed { get; private set; }

    /// <summary>True while <see cref="Stream"/> records a graph (between <see cref="BeginCapture"/> and <see cref="EndCapture"/>).</summary>
    internal bool IsCapturing { get; private set; }

    /// <summary>
    /// How many times something a captured graph relies on has changed: a storage it used was freed (the backend marks
    /// each storage it hands to a kernel during a capture), or the GEMMs' <see cref="Precision"/> was changed. A graph
    /// is replayable while this is what it was when the graph was captured: every address it holds is then still
    /// allocated to the tensor it was captured with, and its GEMMs compute as the device now would.
    /// </summary>
    internal long CapturedStateChanges { get; private set; }

    internal void NoteCapturedStateChanged() => CapturedStateChanges++;

    /// <summary>
    /// How this device's GEMMs compute float32 tensors (torch.backends.cuda.matmul.allow_tf32, or autocast to bfloat16
    /// for the GEMMs alone): <see cref="Precision.FP32"/>, the default, comparable with the reference backend to float32
    /// rounding; <see cref="Precision.TF32"/>, tensor cores with inputs rounded to 10 mantissa bits (about 1e-3
    /// relative); <see cref="Precision.BF16"/>, inputs rounded to 7 bits (about 4e-3). Accumulation, outputs, every
    /// other operation, the weights and the optimizer's moments stay float32; the emulator rounds the inputs the same
    /// way. Set it between steps: captured training steps are captured again with the new precision.
    /// </summary>
    public Precision Precision
    {
        get => Compute.GemmPrecision;
        set
        {
            if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(nameof(Precision), value, "unknown precision");
            if (value == Precision) return;
            Compute.GemmPrecision = value;
            NoteCapturedStateChanged();
        }
    }

    /// <summary>Starts recording this device's stream; nothing may be allocated or freed until <see cref="EndCapture"/>.</summary>
    internal void BeginCapture()
    {
        Stream.BeginCapture();
        IsCapturing = true;
    }

    internal IDeviceGraph EndCapture()
    {
        IsCapturing = false;
        return Stream.EndCapture();
    }

    public override Storage Allocate(DType dtype, long length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return new DeviceStorage(this, dtype, length);
    }

    public override Backend BackendFor(DType dtype) => dtype == DType.Float32
        ? _backend
        : throw new NotSupportedException($"the CUDA backend computes in float32, not {dtype.Name()}; float64 runs on the cpu reference backend");

    public override void Synchronize() => Stream.Synchronize();

    /// <summary>Surfaces, once, a label a loss kernel found out of range since the last check (see <see cref="CudaBackend"/>).</summary>
    internal void ThrowIfALabelWasOutOfRange() => _backend.ThrowIfALabelWasOutOfRange();

    public void Dispose()
    {
        if (IsDisposed) return;
        _backend.Dispose();
        Stream.Dispose();
        IsDisposed = true;
        Compute.Dispose();
    }
}
