using CudaNn.Cuda;
using CudaNn.Cuda.Interop;

namespace CudaNn.Tests.Runtime;

/// <summary>Where libcuda is absent (most development machines and CI), every entry point gives the reason and nothing crashes.</summary>
public class NoGpuPathTests
{
    private static string RequireNoDriver()
    {
        NativeLibraryStatus driver = NativeLibraryResolver.Load(LibraryNames.Driver);
        if (driver.IsLoaded)
            Assert.Ignore($"libcuda is present here ({driver.LoadedFrom}); this test covers machines without it.");
        return driver.FailureReason!;
    }

    [Test]
    public void TryGet_WithoutDriver_SaysLibcudaWasNotFound()
    {
        RequireNoDriver();

        bool found = CudaGpu.TryGet(out CudaGpu? device, out string? reason);
        TestContext.Out.WriteLine(reason);

        Assert.That(found, Is.False);
        Assert.That(device, Is.Null);
        Assert.That(reason, Does.StartWith("libcuda.so.1 not found").And.Contain("the loader's default path"));
    }

    [Test]
    public void TryGet_EitherGivesADeviceOrAReason()
    {
        bool found = CudaGpu.TryGet(out CudaGpu? device, out string? reason);

        Assert.That(found ? device is not null && reason is null : device is null && !string.IsNullOrWhiteSpace(reason), Is.True,
            $"found={found}, device={device}, reason={reason}");
    }

    [Test]
    public void EveryEntryPoint_WithoutDriver_ThrowsUnavailableWithTheSameReason()
    {
        string reason = RequireNoDriver();

        Assert.Multiple(() =>
        {
            Assert.That(() => CudaGpu.GetCount(), Throws.TypeOf<CudaUnavailableException>().With.Message.EqualTo(reason));
            Assert.That(() => CudaGpu.Get(), Throws.TypeOf<CudaUnavailableException>().With.Message.EqualTo(reason));
            Assert.That(() => CudaComputeDevice.Open(), Throws.TypeOf<CudaUnavailableException>().With.Message.EqualTo(reason));
            Assert.That(CudaGpu.GetAll(), Is.Empty);
        });
    }

    [Test]
    public void Describe_WithoutDriver_ReportsTheReasonAndDoesNotThrow()
    {
        string reason = RequireNoDriver();

        CudaEnvironmentReport report = CudaEnvironment.Describe();
        string text = report.ToString();
        TestContext.Out.WriteLine(text);

        Assert.That(report.Devices, Is.Empty);
        Assert.That(report.DriverVersion, Is.Null);
        Assert.That(report.NoUsableDeviceReason, Is.EqualTo(reason));
        Assert.That(text, Does.Contain(".NET").And.Contain("no usable GPU: " + reason).And.Contain("devices: none"));
    }

    [Test]
    public void Describe_NamesWhereNvrtcCameFromOrWhyNot()
    {
        CudaEnvironmentReport report = CudaEnvironment.Describe();

        if (report.Nvrtc.Status.IsLoaded)
        {
            Assert.That(report.Nvrtc.Version, Does.Match(@"^\d+\.\d+$"));
            Assert.That(report.ToString(), Does.Contain($"NVRTC:   {report.Nvrtc.Version}, loaded from {report.Nvrtc.Status.LoadedFrom}"));
        }
        else
        {
            Assert.That(report.ToString(), Does.Contain("NVRTC:   " + report.Nvrtc.Status.FailureReason));
        }
    }
}
