using CudaNn.Cuda;

namespace CudaNn.Kernels;

/// <summary>
/// What NVRTC is asked to produce for one device: a CUBIN for its real architecture ("sm_90") when NVRTC knows
/// it, otherwise PTX for the newest architecture NVRTC knows below it ("compute_90"), which the driver JITs.
/// </summary>
internal readonly record struct KernelTarget(string Architecture, bool IsCubin)
{
    /// <summary>The NVRTC option selecting this target, e.g. <c>-arch=sm_90</c>.</summary>
    public string Option => $"-arch={Architecture}";

    /// <summary>The target for a device of capability <paramref name="device"/> given NVRTC's supported real architectures (80 for sm_80).</summary>
    public static KernelTarget For(ComputeCapability device, IReadOnlyList<int> supportedArchitectures)
    {
        ArgumentNullException.ThrowIfNull(supportedArchitectures);
        int wanted = device.Major * 10 + device.Minor;
        if (supportedArchitectures.Contains(wanted))
            return new KernelTarget(device.RealArchitecture, IsCubin: true);
        int[] older = supportedArchitectures.Where(a => a < wanted).ToArray();
        if (older.Length == 0)
            throw new NotSupportedException(
                $"A device of compute capability {device} is older than every architecture this NVRTC supports " +
                $"({string.Join(", ", supportedArchitectures.Order().Select(a => $"sm_{a}"))}).");
        return new KernelTarget($"compute_{older.Max()}", IsCubin: false);
    }

    public override string ToString() => IsCubin ? $"CUBIN for {Architecture}" : $"PTX for {Architecture}";
}
