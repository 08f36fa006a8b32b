using CudaNn.Backends;

namespace CudaNn;

/// <summary>Where a tensor's memory lives and which backend computes on it (torch.device).</summary>
public abstract class Device
{
    /// <summary>The host CPU, computing with the fast CPU backend (packed GEMMs, all cores, SIMD).</summary>
    public static Device Cpu { get; } = new HostDevice("cpu", reference: false);

    /// <summary>
    /// The host CPU computing with the reference backend: plain loops, obviously right, in float32 or float64. What
    /// <c>verify</c>, gradient checks and the device tests compare against; far slower than <see cref="Cpu"/>.
    /// </summary>
    public static Device Reference { get; } = new HostDevice("reference", reference: true);

    /// <summary>CUDA device <paramref name="ordinal"/> (torch.device("cuda:0")); throws saying why when there is none.</summary>
    public static Device Cuda(int ordinal = 0) => Backends.Cuda.CudaDevices.Cuda(ordinal);

    /// <summary>The host emulator: the CUDA backend with kernels.cu compiled for the CPU (needs g++).</summary>
    public static Device Emulator() => Backends.Cuda.CudaDevices.Emulator();

    /// <summary>CUDA device 0 when it is usable, else the CPU.</summary>
    public static Device Auto() => Backends.Cuda.CudaDevices.IsCudaUsable(out _) ? Cuda() : Cpu;

    /// <summary>"cpu", "reference", "cuda", "cuda:N", "emulator" or "auto".</summary>
    public static Device Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return Cpu;
        if (n == "reference") return Reference;
        if (n == "auto") return Auto();
        if (n == "emulator") return Emulator();
        if (n == "cuda") return Cuda();
        if (n.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(n.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int ordinal))
            return Cuda(ordinal);
        throw new ArgumentException($"unknown device '{name}'; expected cpu, reference, cuda, cuda:N, emulator or auto");
    }

    /// <summary>"cpu", "reference", "cuda:0", "emulator".</summary>
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
