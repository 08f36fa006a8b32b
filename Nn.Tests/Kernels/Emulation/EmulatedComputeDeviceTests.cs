using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>The device seam's contract on the emulator: memory accounting, checked pointers, kernels by name, capture.</summary>
public class EmulatedComputeDeviceTests
{
    [Test]
    public void MemoryInUse_ReturnsToStartAfterFrees_AndFreeingTwiceThrows()
    {
        using EmulatedComputeDevice device = Device();
        long start = device.MemoryInUse;

        DevicePtr first = device.Allocate(1000), second = device.Allocate<float>(6);
        Assert.That(device.MemoryInUse - start, Is.EqualTo(1024));
        Assert.That(first.Address % 256, Is.Zero);
        Assert.That(second.Address % 256, Is.Zero);
        device.Free(first);
        device.Free(second);

        Assert.That(device.MemoryInUse, Is.EqualTo(start));
        Assert.That(() => device.Free(second), Throws.ArgumentException.With.Message.Contains(second.ToString()));
        Assert.That(() => device.Free(new DevicePtr(0x1234)), Throws.ArgumentException);
        Assert.That(() => device.Allocate(0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void CopiesAndMemsets_OutsideAnAllocation_ThrowNamingTheOperation()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr buffer = device.Allocate<float>(8);

        Assert.That(() => device.Upload<float>(buffer.Element<float>(1), new float[8]), Throws.ArgumentException.With.Message.Contains("CopyHostToDevice").And.Message.Contains("past the end"));
        Assert.That(() => device.Download<float>(new float[9], buffer), Throws.ArgumentException.With.Message.Contains("CopyDeviceToHost"));
        Assert.That(() => device.Memset32(stream, new DevicePtr(64), 0, 1), Throws.ArgumentException.With.Message.Contains("not inside any live allocation"));
        Assert.That(() => device.CopyDeviceToDevice(stream, buffer, buffer.Element<float>(2), 16), Throws.ArgumentException.With.Message.Contains("overlap"));
    }

    [Test]
    public void UploadMemset32CopyDownload_RoundTrip()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        float[] data = RandomFloats(777, seed: 900);
        DevicePtr a = Upload(device, data), b = Poisoned(device, stream, data.Length);

        device.CopyDeviceToDevice(stream, b.Element<float>(1), a.Element<float>(1), (data.Length - 2) * sizeof(float));
        device.Synchronize();
        float[] copied = Download(device, b, data.Length);

        Assert.That(float.IsNaN(copied[0]) && float.IsNaN(copied[^1]), Is.True, "the copy must stop one element short at each end");
        Assert.That(copied[1..^1], Is.EqualTo(data[1..^1]));
    }

    [Test]
    public void GetKernel_UnknownName_ThrowsListingTheKernels()
    {
        using EmulatedComputeDevice device = Device();

        Assert.That(() => device.GetKernel("no_such_kernel"),
            Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("no_such_kernel").And.Message.Contains("block_sum").And.Message.Contains("axpy"));
        Assert.That(device.KernelNames, Does.Contain("echo_arguments").And.Not.Contain("no_such_kernel"));
    }

    [Test]
    public void Launch_WithTheWrongArgumentCount_Throws()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr x = device.Allocate<float>(4);

        Assert.That(() => device.Launch(stream, "axpy", new LaunchConfig(1, 4), new KernelArguments().Add(1f).Add(x).Add(x)),
            Throws.ArgumentException.With.Message.Contains("takes 4 arguments, got 3"));
        Assert.That(() => device.Launch(stream, "axpy", new LaunchConfig(1, 2048), new KernelArguments().Add(1f).Add(x).Add(x).Add(4)),
            Throws.ArgumentException.With.Message.Contains("Block"));
    }

    [Test]
    public void GraphCapture_RecordsWorkThatReplaysAgainstCurrentBufferContents()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int n = 513;
        float[] x = RandomFloats(n, seed: 910), y = RandomFloats(n, seed: 911);
        DevicePtr dx = Upload(device, x), dy = Upload(device, y);
        var arguments = new KernelArguments().Add(2f).Add(dx).Add(dy).Add(n);

        stream.BeginCapture();
        device.Launch(stream, "axpy", LaunchConfig.For1D(n, 128), arguments);
        arguments.Clear().Add(1000f).Add(dy).Add(dx).Add(1); // the captured launch keeps its own copies of the values
        Assert.That(() => device.Download<float>(new float[n], dy), Throws.InvalidOperationException, "synchronous calls are refused while capturing");
        using IDeviceGraph graph = stream.EndCapture();
        Assert.That(Download(device, dy, n), Is.EqualTo(y), "capturing must not run the work");

        graph.Launch(stream);
        device.Upload<float>(dx, x.Select(v => -v).ToArray()); // the replay must read x as it is now
        graph.Launch(stream);
        stream.Synchronize();

        float[] result = Download(device, dy, n);
        for (int i = 0; i < n; i++)
            Assert.That(result[i], Is.EqualTo(y[i] + 2 * x[i] - 2 * x[i]).Within(4e-6), $"y[{i}] after two replays with x negated in between");
    }

    [Test]
    public void Events_RecordHostTimeInStreamOrder()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        using IDeviceEvent start = device.CreateEvent(), end = device.CreateEvent();

        Assert.That(() => end.ElapsedMillisecondsSince(start), Throws.InvalidOperationException);
        DevicePtr buffer = device.Allocate<float>(1 << 20);
        device.Memset32(stream, buffer, 0xFFFFFFFF, 1 << 20);
        start.Record(stream);
        device.Memset32(stream, buffer, 0, 1 << 20);
        end.Record(stream);
        end.Synchronize();

        // The end event completes after the work before it: the memset is done, and the time is a number.
        var tail = new float[4];
        device.Download<float>(tail, buffer.Element<float>((1 << 20) - 4));
        Assert.That(tail, Is.All.EqualTo(0f));
        Assert.That(float.IsFinite(end.ElapsedMillisecondsSince(start)));
        device.Free(buffer);
    }
}
