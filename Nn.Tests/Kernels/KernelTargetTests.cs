using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Tests.Kernels;

public class KernelTargetTests
{
    private static readonly int[] Nvrtc118 = [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90];

    [Test]
    public void KnownArchitecture_GivesCubinForIt()
    {
        Assert.That(KernelTarget.For(new ComputeCapability(9, 0), Nvrtc118), Is.EqualTo(new KernelTarget("sm_90", true)));
        Assert.That(KernelTarget.For(new ComputeCapability(8, 6), Nvrtc118).Option, Is.EqualTo("-arch=sm_86"));
    }

    [Test]
    public void DeviceNewerThanNvrtc_GivesPtxForTheNewestArchitectureBelow()
    {
        Assert.That(KernelTarget.For(new ComputeCapability(10, 0), Nvrtc118), Is.EqualTo(new KernelTarget("compute_90", false)));
        Assert.That(KernelTarget.For(new ComputeCapability(8, 8), Nvrtc118), Is.EqualTo(new KernelTarget("compute_87", false)));
    }

    [Test]
    public void DeviceOlderThanEveryArchitecture_Throws()
    {
        var error = Assert.Throws<NotSupportedException>(() => KernelTarget.For(new ComputeCapability(6, 1), [75, 80, 90]));

        Assert.That(error!.Message, Does.Contain("6.1").And.Contain("sm_75"));
    }
}
