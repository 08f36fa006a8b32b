using CudaNn.Backends;
using CudaNn.Backends.Cpu;

namespace CudaNn;

internal sealed class CpuDevice : Device
{
    public override string Name => "cpu";
    public override DeviceKind Kind => DeviceKind.Cpu;

    public override Storage Allocate(DType dtype, long length) => dtype switch
    {
        DType.Float32 => new CpuStorage<float>(length),
        DType.Float64 => new CpuStorage<double>(length),
        DType.Int32 => new CpuStorage<int>(length),
        DType.UInt8 => new CpuStorage<byte>(length),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public override Backend BackendFor(DType dtype) => dtype switch
    {
        DType.Float32 => CpuBackend<float>.Instance,
        DType.Float64 => CpuBackend<double>.Instance,
        _ => throw new NotSupportedException($"no cpu backend computes in {dtype.Name()}; use float32 or float64"),
    };
}
