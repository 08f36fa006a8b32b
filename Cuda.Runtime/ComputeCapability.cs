namespace CudaNn.Cuda;

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
