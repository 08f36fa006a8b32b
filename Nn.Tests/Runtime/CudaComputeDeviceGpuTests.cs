using CudaNn.Cuda;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Runtime;

/// <summary>The device seam's real implementation, used only through <see cref="IComputeDevice"/> where possible.</summary>
[Category("Gpu")]
public class CudaComputeDeviceGpuTests
{
    private static CudaComputeDevice Open()
    {
        CudaGpu device = Requirements.Gpu();
        var compute = new CudaComputeDevice(device);
        compute.LoadModule(GpuTestSupport.CompileTestKernels(device));
        return compute;
    }

    [Test]
    public void MemoryInUse_CountsLiveAllocationsOnly()
    {
        using CudaComputeDevice compute = Open();
        IComputeDevice device = compute;

        DevicePtr first = device.Allocate(1000);
        DevicePtr second = device.Allocate<float>(6);
        Assert.That(device.MemoryInUse, Is.EqualTo(1024));
        device.Free(first);
        Assert.That(device.MemoryInUse, Is.EqualTo(24));
        device.Free(second);

        Assert.That(device.MemoryInUse, Is.Zero);
        Assert.That(() => device.Free(second), Throws.ArgumentException.With.Message.Contains(second.ToString()));
    }

    [Test]
    public void Allocate_IsAlignedTo256Bytes()
    {
        using CudaComputeDevice compute = Open();

        DevicePtr pointer = compute.Allocate(3);

        Assert.That(pointer.Address % 256, Is.EqualTo(0UL));
    }

    [Test]
    public void UploadMemset32CopyDownload_RoundTripThroughTheSeam()
    {
        using CudaComputeDevice compute = Open();
        IComputeDevice device = compute;
        float[] data = GpuTestSupport.RandomFloats(777, seed: 601);
        DevicePtr a = device.Allocate<float>(data.Length), b = device.Allocate<float>(data.Length);
        using IDeviceStream stream = device.CreateStream();

        device.Upload<float>(a, data);
        device.Memset32(stream, b, BitConverter.SingleToUInt32Bits(float.NaN), data.Length);
        stream.Synchronize();
        float[] poisoned = new float[data.Length];
        device.Download<float>(poisoned, b);
        device.CopyDeviceToDevice(stream, b.Element<float>(1), a.Element<float>(1), (data.Length - 2) * sizeof(float));
        device.Synchronize();
        float[] copied = new float[data.Length];
        device.Download<float>(copied, b);

        Assert.That(poisoned, Is.All.NaN);
        Assert.That(float.IsNaN(copied[0]) && float.IsNaN(copied[^1]), Is.True, "the copy must stop one element short at each end");
        Assert.That(copied[1..^1], Is.EqualTo(data[1..^1]));
    }

    [Test]
    public void LaunchByName_AndGraphReplay_ThroughTheSeam()
    {
        using CudaComputeDevice compute = Open();
        IComputeDevice device = compute;
        const int n = 513;
        float[] x = GpuTestSupport.RandomFloats(n, seed: 611), y = GpuTestSupport.RandomFloats(n, seed: 612);
        DevicePtr dx = device.Allocate<float>(n), dy = device.Allocate<float>(n);
        device.Upload<float>(dx, x);
        device.Upload<float>(dy, y);
        using IDeviceStream stream = device.CreateStream();
        var args = new KernelArguments().Add(2f).Add(dx).Add(dy).Add(n);

        device.Launch(stream, "axpy", LaunchConfig.For1D(n, 256), args);
        stream.BeginCapture();
        device.Launch(stream, device.GetKernel("axpy"), LaunchConfig.For1D(n, 256), args.Pointers);
        using IDeviceGraph graph = stream.EndCapture();
        graph.Launch(stream);
        graph.Launch(stream);
        stream.Synchronize();

        float[] result = new float[n];
        device.Download<float>(result, dy);
        for (int i = 0; i < n; i++)
            Assert.That(result[i], Is.EqualTo(y[i] + 3 * 2.0 * x[i]).Within(4e-6), $"y[{i}]: one direct launch and two replays");
        Assert.That(() => device.GetKernel("no_such_kernel"), Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("no_such_kernel"));
    }

    [Test]
    public void Sgemm_ThroughTheSeam_MatchesReference()
    {
        using CudaComputeDevice compute = Open();
        IComputeDevice device = compute;
        const int m = 19, n = 7, k = 33;
        float[] a = GpuTestSupport.RandomFloats(k * m, seed: 621), b = GpuTestSupport.RandomFloats(n * k, seed: 622);
        float[] c = Enumerable.Repeat(float.NaN, m * n).ToArray();
        DevicePtr da = device.Allocate<float>(a.Length), db = device.Allocate<float>(b.Length), dc = device.Allocate<float>(c.Length);
        device.Upload<float>(da, a);
        device.Upload<float>(db, b);
        device.Upload<float>(dc, c);
        using IDeviceStream stream = device.CreateStream();

        device.Sgemm(stream, GemmOp.Transpose, GemmOp.Transpose, m, n, k, -0.75f, da, k, db, n, 0f, dc, m);
        stream.Synchronize();

        float[] got = new float[c.Length];
        device.Download<float>(got, dc);
        var (reference, magnitude) = GpuTestSupport.ReferenceGemm(GemmOp.Transpose, GemmOp.Transpose, m, n, k, -0.75f, a, k, b, n, 0f, c, m);
        GpuTestSupport.AssertGemmClose(got, reference, magnitude, m, n, m, k, "seam T/T");
    }

    [Test]
    public void Events_ThroughTheSeam_TimeAndOrderStreams()
    {
        using CudaComputeDevice compute = Open();
        IComputeDevice device = compute;
        DevicePtr buffer = device.Allocate(64L << 20);
        using IDeviceStream first = device.CreateStream(), second = device.CreateStream();
        using IDeviceEvent start = device.CreateEvent(), done = device.CreateEvent();

        start.Record(first);
        device.Memset(first, buffer, 0x7f, 64L << 20);
        done.Record(first);
        second.Wait(done);
        device.Memset32(second, buffer, 0, 1);
        second.Synchronize();
        byte[] head = new byte[8];
        device.CopyDeviceToHost(head, buffer);

        Assert.That(head, Is.EqualTo(new byte[] { 0, 0, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f }), "the second stream's memset must run after the first's");
    }

    [Test]
    public void Dispose_FreesWhatIsStillAllocated()
    {
        CudaComputeDevice compute = Open();
        compute.Allocate(128L << 20);
        long freeDuring = compute.Context.GetMemoryInfo().FreeBytes;

        compute.Dispose();

        Assert.That(compute.MemoryInUse, Is.Zero);
        Assert.That(compute.Context.GetMemoryInfo().FreeBytes, Is.GreaterThanOrEqualTo(freeDuring + (128L << 20)));
    }
}
