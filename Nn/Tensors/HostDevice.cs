using CudaNn.Backends;
using CudaNn.Backends.Cpu;
using CudaNn.Backends.Reference;

namespace CudaNn;

/// <summary>
/// Host memory, computed on by one of two backends: "cpu" by the fast <see cref="CpuBackend{T}"/>, "reference" by the
/// plain-loop <see cref="ReferenceBackend{T}"/>. Their tensors are host arrays either way, so an operation may mix them.
/// </summary>
internal sealed class HostDevice(string name, bool reference) : Device
{
    public override string Name => name;
    public override DeviceKind Kind => DeviceKind.Cpu;

    public override Storage Allocate(DType dtype, long length) => dtype switch
    {
        DType.Float32 => new CpuStorage<float>(this, length),
        DType.Float64 => new CpuStorage<double>(this, length),
        DType.Int32 => new CpuStorage<int>(this, length),
        DType.UInt8 => new CpuStorage<byte>(this, length),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public override Backend BackendFor(DType dtype) => (dtype, reference) switch
    {
        (DType.Float32, false) => CpuBackend<float>.Instance,
        (DType.Float64, false) => CpuBackend<double>.Instance,
        (DType.Float32, true) => ReferenceBackend<float>.Instance,
        (DType.Float64, true) => ReferenceBackend<double>.Instance,
        _ => throw new NotSupportedException($"no {name} backend computes in {dtype.Name()}; use float32 or float64"),
    };
}
