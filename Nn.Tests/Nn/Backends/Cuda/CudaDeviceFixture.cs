using CudaNn.Backends.Cuda;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Backends.Cuda;

/// <summary>
/// The CUDA backend's tests, written once and run on every device that runs it: the host emulator in CI,
/// and a real GPU where there is one (skipped without, failing instead under CUDANN_REQUIRE_GPU=1).
/// </summary>
public abstract class CudaDeviceFixture(string device)
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Structure", "NUnit1032",
        Justification = "CudaDevices hands out one device per process, as PyTorch keeps one context; it outlives every fixture.")]
    protected CudaDevice Device { get; private set; } = null!;

    [OneTimeSetUp]
    public void OpenDevice()
    {
        if (device == "cuda")
        {
            Requirements.Gpu();
            Device = CudaDevices.Cuda();
        }
        else
        {
            try
            {
                Device = CudaDevices.Emulator();
            }
            catch (EmulatorBuildException e) when (e.IsCompilerMissing)
            {
                Requirements.SkipOrFail(Requirements.RequireEmulator, $"the host emulator cannot be built: {e.Message}");
                throw;
            }
        }
        TestContext.Out.WriteLine($"device: {Device.Name} ({Device.Description})");
    }

    /// <summary>The test fixtures' device names: every fixture runs on both.</summary>
    public const string Emulator = "emulator", Cuda = "cuda";
}
