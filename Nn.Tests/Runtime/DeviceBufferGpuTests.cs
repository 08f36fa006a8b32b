using CudaNn.Cuda;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Runtime;

[Category("Gpu")]
public class DeviceBufferGpuTests
{
    [Test]
    public void CopyFrom_ThenCopyTo_ReturnsTheSameBits()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        float[] data = GpuTestSupport.RandomFloats(100_003, seed: 20240101);
        using DeviceBuffer<float> buffer = context.Allocate<float>(data.Length);

        buffer.CopyFrom(data);
        float[] back = new float[data.Length];
        Array.Fill(back, float.NaN);
        buffer.CopyTo(back);

        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public void CopyFromBuffer_OnStream_CopiesDeviceToDevice()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        float[] data = GpuTestSupport.RandomFloats(4097, seed: 20240102);
        using DeviceBuffer<float> source = context.Allocate<float>(data.Length);
        using DeviceBuffer<float> destination = context.Allocate<float>(data.Length);
        using CudaStream stream = context.CreateStream();
        source.CopyFrom(data);

        destination.CopyFrom(stream, source);
        stream.Synchronize();

        Assert.That(destination.ToArray(), Is.EqualTo(data));
    }

    [Test]
    public void Clear_OnStream_ZeroesEveryElement()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        using DeviceBuffer<float> buffer = context.Allocate<float>(1001);
        buffer.CopyFrom(Enumerable.Repeat(float.NaN, 1001).ToArray());
        using CudaStream stream = context.CreateStream();

        buffer.Clear(stream);
        stream.Synchronize();

        Assert.That(buffer.ToArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void CopyFrom_WrongLength_ThrowsNamingBothLengths()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        using DeviceBuffer<int> buffer = context.Allocate<int>(6);

        Assert.That(() => buffer.CopyFrom(new int[5]), Throws.ArgumentException.With.Message.Contains("5 elements").And.Message.Contains("holds 6"));
    }

    [Test]
    public void Dispose_Twice_FreesOnceAndPointerThrowsAfterwards()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        long freeBefore = context.GetMemoryInfo().FreeBytes;
        var buffer = context.Allocate<byte>(256L << 20);
        long freeDuring = context.GetMemoryInfo().FreeBytes;

        buffer.Dispose();
        buffer.Dispose();
        long freeAfter = context.GetMemoryInfo().FreeBytes;

        Assert.That(freeBefore - freeDuring, Is.GreaterThanOrEqualTo(256L << 20));
        Assert.That(freeAfter, Is.GreaterThanOrEqualTo(freeDuring + (256L << 20)));
        Assert.That(() => buffer.Pointer, Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void Allocate_MoreThanTheDevice_ThrowsOutOfMemoryWithSizes()
    {
        CudaGpu device = Requirements.Gpu();
        long tooMuch = device.TotalMemoryBytes * 2;

        var error = Assert.Throws<CudaException>(() => device.PrimaryContext.Allocate<byte>(tooMuch, "the test's oversized buffer"));
        TestContext.Out.WriteLine(error!.Message);

        Assert.That(error.StatusName, Is.EqualTo("CUDA_ERROR_OUT_OF_MEMORY"));
        Assert.That(error.Message, Does.StartWith("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory) while allocating "
            + ByteSize.Format(tooMuch) + " for the test's oversized buffer; "));
        Assert.That(error.Message, Does.Contain(" free of " + ByteSize.Format(device.PrimaryContext.GetMemoryInfo().TotalBytes)));
    }
}
