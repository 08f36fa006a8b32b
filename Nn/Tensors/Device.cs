using CudaNn.Backends;

namespace CudaNn;

/// <summary>Where a tensor's memory lives and which backend computes on it (torch.device).</summary>
public abstract class Device
{
    /// <summary>The host CPU, computing with the reference backend.</summary>
    public static Device Cpu { get; } = new CpuDevice();

    /// <summary>"cpu", "cuda:0", "emulator".</summary>
    public abstract string Name { get; }

    public abstract DeviceKind Kind { get; }

    /// <summary>Allocates <paramref name="length"/> elements of <paramref name="dtype"/> on this device.</summary>
    public abstract Storage Allocate(DType dtype, long length);

    /// <summary>The backend that computes on tensors of <paramref name="dtype"/> held by this device.</summary>
    public abstract Backend BackendFor(DType dtype);

    /// <summary>Waits until all work queued on this device has finished.</summary>
    public virtual void Synchronize() { }

    public override string ToString() => Name;
}

public enum DeviceKind
{
    Cpu,
    Cuda,
    Emulator,
}
