using CudaNn.Backends.Cuda;
using CudaNn.Cuda;

namespace CudaNn.Tests.Nn.Tensors;

public class DeviceTests
{
    [TestCase("cpu")]
    [TestCase(" CPU ")]
    public void Parse_Cpu(string name) => Assert.That(Device.Parse(name), Is.SameAs(Device.Cpu));

    [TestCase("tpu")]
    [TestCase("cuda:")]
    [TestCase("cuda:x")]
    [TestCase("cuda:-1")]
    public void Parse_RejectsUnknownNames_ListingTheKnownOnes(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => Device.Parse(name));
        Assert.That(ex!.Message, Does.Contain($"'{name}'").And.Contain("cpu, reference, cuda, cuda:N, emulator or auto"));
    }

    [Test]
    public void CudaWithoutAUsableGpu_SaysWhy_AndAutoFallsBackToTheCpu()
    {
        if (CudaDevices.IsCudaUsable(out _)) Assert.Ignore("a GPU is usable here");
        var ex = Assert.Throws<CudaUnavailableException>(() => Device.Parse("cuda:0"));
        Assert.That(ex!.Message, Does.StartWith("cuda:0 is not usable: "));
        Assert.That(Device.Auto(), Is.SameAs(Device.Cpu));
    }

    [Test]
    public void Float64_IsComputedOnTheCpuOnly()
    {
        Assert.That(Device.Cpu.BackendFor(DType.Float64).DType, Is.EqualTo(DType.Float64));
        var ex = Assert.Throws<NotSupportedException>(() => Device.Cpu.BackendFor(DType.Int32));
        Assert.That(ex!.Message, Does.Contain("int32"));
    }
}
