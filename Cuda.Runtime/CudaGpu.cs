using System.Diagnostics.CodeAnalysis;
using System.Text;
using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// One NVIDIA GPU as the driver sees it. <see cref="TryGet(out CudaGpu?, out string?)"/> is the entry
/// point: it says which device is usable or exactly why none is.
/// </summary>
public sealed unsafe class CudaGpu
{
    private readonly Lazy<CudaContext> primaryContext;

    private CudaGpu(int ordinal, int handle)
    {
        Ordinal = ordinal;
        Handle = handle;
        byte* name = stackalloc byte[256];
        Check(Driver.cuDeviceGetName(name, 256, handle));
        Name = new string((sbyte*)name).Trim();
        ComputeCapability = new ComputeCapability(
            Attribute(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
            Attribute(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
        MultiprocessorCount = Attribute(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        L2CacheBytes = Attribute(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
        Check(Driver.cuDeviceTotalMem_v2(out nuint total, handle));
        TotalMemoryBytes = (long)total;
        primaryContext = new Lazy<CudaContext>(() => new CudaContext(this));
    }

    /// <summary>The device's index among the driver's devices.</summary>
    public int Ordinal { get; }

    /// <summary>The marketing name, e.g. "NVIDIA H100 80GB HBM3".</summary>
    public string Name { get; }

    public ComputeCapability ComputeCapability { get; }

    /// <summary>Number of streaming multiprocessors (SMs).</summary>
    public int MultiprocessorCount { get; }

    /// <summary>The L2 cache in bytes (50 MiB on an H100), which a cold measurement overwrites between samples.</summary>
    public long L2CacheBytes { get; }

    /// <summary>Global memory in bytes.</summary>
    public long TotalMemoryBytes { get; }

    /// <summary>
    /// The device's primary context (shared with cuBLAS and any CUDA runtime code in the process), retained on
    /// first use and kept for the life of the process, so device memory can always be freed, even by finalisers.
    /// </summary>
    internal CudaContext PrimaryContext => primaryContext.Value;

    internal int Handle { get; }

    /// <summary>Number of devices the driver reports; throws <see cref="CudaUnavailableException"/> without a driver.</summary>
    public static int GetCount()
    {
        CudaDriver.EnsureAvailable();
        Check(Driver.cuDeviceGetCount(out int count));
        return count;
    }

    /// <summary>The device with this ordinal; throws <see cref="CudaUnavailableException"/> with the reason if unusable.</summary>
    public static CudaGpu Get(int ordinal = 0) =>
        TryGet(ordinal, out CudaGpu? device, out string? reason) ? device : throw new CudaUnavailableException(reason);

    /// <summary>Device 0, or the reason it cannot be used.</summary>
    public static bool TryGet([NotNullWhen(true)] out CudaGpu? device, [NotNullWhen(false)] out string? reason) =>
        TryGet(0, out device, out reason);

    /// <summary>
    /// The device with this ordinal, or exactly why it cannot be used: "libcuda.so.1 not found (...)",
    /// "cuInit failed: CUDA_ERROR_NO_DEVICE (...)", "driver 11.4 too old ...", a capability below 7.0.
    /// Never throws for a missing or broken CUDA installation.
    /// </summary>
    public static bool TryGet(int ordinal, [NotNullWhen(true)] out CudaGpu? device, [NotNullWhen(false)] out string? reason)
    {
        device = null;
        reason = CudaDriver.UnavailableReason;
        if (reason is not null)
            return false;
        try
        {
            int count = GetCount();
            if (count == 0)
                reason = "the CUDA driver reports no devices (CUDA_ERROR_NO_DEVICE)";
            else if (ordinal < 0 || ordinal >= count)
                reason = $"device {ordinal} requested but the driver reports {count} device(s)";
            else
            {
                Check(Driver.cuDeviceGet(out int handle, ordinal));
                var candidate = new CudaGpu(ordinal, handle);
                if (candidate.ComputeCapability < ComputeCapability.Minimum)
                    reason = $"device {ordinal} ({candidate.Name}) has compute capability {candidate.ComputeCapability}; CudaNn needs {ComputeCapability.Minimum} or newer";
                else
                    device = candidate;
            }
        }
        catch (CudaException e)
        {
            reason = e.Message;
        }
        return device is not null;
    }

    /// <summary>Every device the driver reports, usable or not; empty without a driver.</summary>
    public static IReadOnlyList<CudaGpu> GetAll()
    {
        if (CudaDriver.UnavailableReason is not null)
            return [];
        return Enumerable.Range(0, GetCount()).Select(i =>
        {
            Check(Driver.cuDeviceGet(out int handle, i));
            return new CudaGpu(i, handle);
        }).ToList();
    }

    internal int Attribute(CuDeviceAttribute attribute)
    {
        Check(Driver.cuDeviceGetAttribute(out int value, attribute, Handle));
        return value;
    }

    /// <summary>"0: NVIDIA H100 80GB HBM3, compute capability 9.0, 132 SMs, 79.1 GiB".</summary>
    public override string ToString() =>
        new StringBuilder().Append(Ordinal).Append(": ").Append(Name)
            .Append(", compute capability ").Append(ComputeCapability)
            .Append(", ").Append(MultiprocessorCount).Append(" SMs, ")
            .Append(ByteSize.Format(TotalMemoryBytes)).ToString();
}

/// <summary>An NVIDIA compute capability such as 9.0 (H100), with the NVRTC architecture names it implies.</summary>
public readonly record struct ComputeCapability(int Major, int Minor) : IComparable<ComputeCapability>
{
    /// <summary>The oldest capability CudaNn's kernels are compiled for (Volta).</summary>
    public static readonly ComputeCapability Minimum = new(7, 0);

    /// <summary>The real architecture, for CUBIN: "sm_90".</summary>
    public string RealArchitecture => $"sm_{Major}{Minor}";

    /// <summary>The virtual architecture, for PTX: "compute_90".</summary>
    public string VirtualArchitecture => $"compute_{Major}{Minor}";

    public int CompareTo(ComputeCapability other) => (Major, Minor).CompareTo((other.Major, other.Minor));

    public static bool operator <(ComputeCapability left, ComputeCapability right) => left.CompareTo(right) < 0;
    public static bool operator >(ComputeCapability left, ComputeCapability right) => left.CompareTo(right) > 0;
    public static bool operator <=(ComputeCapability left, ComputeCapability right) => left.CompareTo(right) <= 0;
    public static bool operator >=(ComputeCapability left, ComputeCapability right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Major}.{Minor}";
}
