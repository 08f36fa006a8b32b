using CudaNn.Backends.Cuda;

namespace CudaNn.Tests.TestSupport;

/// <summary>
/// Tests written once for every device and dtype that checks against PyTorch's reference files: "cpu" (float64 or
/// float32), "emulator" (the host emulator, float32; failing instead of skipping under CUDANN_REQUIRE_EMULATOR=1) and
/// "cuda" (a GPU, float32; skipped without one).
/// </summary>
public abstract class AnyDeviceFixture(string deviceName, DType dtype)
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Structure", "NUnit1032",
        Justification = "CudaDevices hands out one device per process; it outlives every fixture.")]
    private Device _device = null!;

    protected Device Device => _device;
    protected DType DType => dtype;

    /// <summary>True on the CPU in float64, where results match PyTorch's float64 to rounding.</summary>
    protected bool Exact => dtype == DType.Float64;

    [OneTimeSetUp]
    public void OpenDevice()
    {
        if (deviceName == "cpu")
        {
            _device = Device.Cpu;
            return;
        }
        if (deviceName == "cuda")
        {
            Requirements.Gpu();
            _device = CudaDevices.Cuda();
            return;
        }
        _device = Requirements.Emulator();
    }

    /// <summary>A host float64 tensor moved to the fixture's device and dtype; the host one is disposed.</summary>
    protected Tensor OnDevice(Tensor host)
    {
        using (host) return TensorConversion.To(host, _device, dtype);
    }
}
