using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Kernels.Emulation;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>
/// Kernels' own loads and stores on the emulator: each planted out-of-bounds access fails its launch with a message
/// naming the kernel, the thread and block, the access and the memory it missed, and the device stays usable.
/// </summary>
public class EmulatorAccessCheckTests
{
    // Whatever CUDANN_EMULATOR_MEMORY_CHECKS says: unchecked, these planted accesses would fault the process.
    private static EmulatedComputeDevice Checked() => Device(options: new EmulatorOptions { ProgramName = ProgramName, CheckMemory = true });

    [Test]
    public void ReadOnePastTheEnd_FailsNamingKernelThreadAndAllocation()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        const int n = 100;
        DevicePtr x = device.Allocate(n * sizeof(float), "x"), y = Poisoned(device, stream, n + 1);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "copy_one_too_many", new LaunchConfig(2, 64), new KernelArguments().Add(x).Add(y).Add(n)));

        // Thread 36 of block 1 is element 100; with warps run in order it is the first to reach it.
        Assert.That(error!.KernelName, Is.EqualTo("copy_one_too_many"));
        Assert.That(error.Message, Does.Contain("thread (36,0,0) of block (1,0,0)")
            .And.Contain($"invalid read of 4 bytes at 0x{x.Address + n * sizeof(float):x} in device memory")
            .And.Contain($"0 bytes past the end of the {n * sizeof(float)}-byte allocation #").And.Contain($"at 0x{x.Address:x} (x)"));
        Assert.That(float.IsNaN(Download(device, y, n + 1)[n]), Is.True, "the refused access's thread stopped before its store");
    }

    [Test]
    public void WriteOnePastTheEnd_FailsAsAWrite_AndTheDeviceStaysUsable()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        const int n = 33;
        DevicePtr y = Poisoned(device, stream, n);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "fill_one_too_many", new LaunchConfig(1, 64), new KernelArguments().Add(y).Add(n)));
        Assert.That(error!.Message, Does.Contain("thread (33,0,0) of block (0,0,0)")
            .And.Contain($"invalid write of 4 bytes at 0x{y.Address + n * sizeof(float):x}").And.Contain("0 bytes past the end of the 132-byte allocation"));

        // The fibers left mid-kernel start afresh: the same device runs a correct launch to the right result.
        float[] x = RandomFloats(n, seed: 2300);
        DevicePtr dx = Upload(device, x), dy = Poisoned(device, stream, n);
        device.Launch(stream, "copy_one_too_many", new LaunchConfig(1, 64), new KernelArguments().Add(dx).Add(dy).Add(n - 1));
        Assert.That(Download(device, dy, n), Is.EqualTo(x));
    }

    [Test]
    public void WriteBeforeTheStart_FailsNamingTheDistance()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr y = Poisoned(device, stream, 64);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "write_before_start", new LaunchConfig(1, 32), new KernelArguments().Add(y).Add(1)));

        Assert.That(error!.Message, Does.Contain("thread (0,0,0) of block (0,0,0)").And.Contain($"invalid write of 4 bytes at 0x{y.Address - 4:x}")
            .And.Contain($"4 bytes before the start of the 256-byte allocation"));
    }

    [Test]
    public void StaticSharedArray_ReadPastItsEnd_FailsNamingTheVariable([Values] WarpOrder order)
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr x = Upload(device, RandomFloats(32, seed: 2310)), y = Poisoned(device, stream, 32);
        device.WarpOrder = order;

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "shared_read_past_end", new LaunchConfig(1, 32), new KernelArguments().Add(x).Add(y)));

        Assert.That(error!.Message, Does.Contain("thread (31,0,0) of block (0,0,0)").And.Contain("invalid read of 4 bytes")
            .And.Contain("in shared memory: 0 bytes past the end of the 128-byte __shared__ variable 'tile'"));
    }

    [Test]
    public void NamespaceScopeSharedArray_WritePastItsEnd_FailsNamingTheVariable()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr y = Poisoned(device, stream, 32);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "global_shared_write_past_end", new LaunchConfig(1, 32), new KernelArguments().Add(y)));

        Assert.That(error!.Message, Does.Contain("thread (16,0,0) of block (0,0,0)").And.Contain("invalid write of 4 bytes")
            .And.Contain("0 bytes past the end of the 64-byte __shared__ variable 'scratch_row'"));
    }

    [Test]
    public void DynamicSharedMemory_BeyondWhatTheLaunchAskedFor_Fails()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr x = Upload(device, RandomFloats(64, seed: 2320)), y = Poisoned(device, stream, 64);

        // reverse_in_block stages blockDim floats; this launch asks for room for 48 of its 64.
        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "reverse_in_block", new LaunchConfig(1, 64, 48 * sizeof(float)), new KernelArguments().Add(x).Add(y)));

        Assert.That(error!.Message, Does.Contain("thread (48,0,0) of block (0,0,0)").And.Contain("invalid write of 4 bytes")
            .And.Contain("0 bytes past the end of the 192 bytes of dynamic shared memory the launch asked for"));
    }

    [Test]
    public void FreedAllocation_ReadByAKernel_FailsSayingItWasFreed()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr x = device.Allocate(16 * sizeof(float), "activations"), y = Poisoned(device, stream, 16);
        device.Free(x);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "copy_one_too_many", new LaunchConfig(1, 16), new KernelArguments().Add(x).Add(y).Add(15)));

        Assert.That(error!.Message, Does.Contain("thread (0,0,0) of block (0,0,0)").And.Contain($"invalid read of 4 bytes at 0x{x.Address:x}")
            .And.Contain($"inside the 64-byte allocation #").And.Contain($"at 0x{x.Address:x} (activations), which was freed"));
    }

    [Test]
    public void GraphReplay_AfterItsBufferWasFreed_FailsAtTheReplay()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr x = Upload(device, RandomFloats(32, seed: 2330)), y = Poisoned(device, stream, 32);
        stream.BeginCapture();
        device.Launch(stream, "copy_one_too_many", new LaunchConfig(1, 32), new KernelArguments().Add(x).Add(y).Add(31));
        using IDeviceGraph graph = stream.EndCapture();
        graph.Launch(stream);

        device.Free(y);

        var error = Assert.Throws<EmulatedKernelException>(() => graph.Launch(stream));
        Assert.That(error!.Message, Does.Contain($"invalid write of 4 bytes at 0x{y.Address:x}").And.Contain("which was freed"));
    }

    [Test]
    public void KernelsCu_IsBuiltWithTheChecks_SoItsOwnKernelsAreCaught()
    {
        using EmulatedComputeDevice device = Device(KernelSource.Text, new EmulatorOptions { ProgramName = KernelSource.ProgramName, CheckMemory = true });
        using IDeviceStream stream = device.CreateStream();
        DevicePtr x = Upload(device, RandomFloats(100, seed: 2340)), y = Poisoned(device, stream, 100);

        // A launcher bug of the kind the checks exist for: n one larger than the buffers.
        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "activation_forward", LaunchConfig.For1D(101), new KernelArguments().Add(x).Add(y).Add(101L).Add(1).Add(0f)));

        // The float4 body covers elements 0-99 (threads 0-24); thread 0 takes the scalar tail, element 100.
        Assert.That(error!.Message, Does.Contain("activation_forward").And.Contain("thread (0,0,0) of block (0,0,0)")
            .And.Contain("invalid read of 4 bytes").And.Contain("0 bytes past the end of the 400-byte allocation"));
    }

    [Test]
    public void FreshAllocations_HoldNaN_SoAReadOfUnwrittenMemoryShows()
    {
        using EmulatedComputeDevice device = Checked();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr x = device.Allocate(8 * sizeof(float)), y = device.Allocate(8 * sizeof(float));

        device.Launch(stream, "copy_one_too_many", new LaunchConfig(1, 8), new KernelArguments().Add(x).Add(y).Add(7));

        Assert.That(Download(device, y, 8).All(float.IsNaN), Is.True);
    }

    [Test]
    public void WithoutChecks_TheSameOverrunGoesUnnoticed()
    {
        using EmulatedComputeDevice device = Device(options: new EmulatorOptions { ProgramName = ProgramName, CheckMemory = false });
        using IDeviceStream stream = device.CreateStream();
        DevicePtr y = Poisoned(device, stream, 64);

        // The write lands in the page the allocation's 256 bytes share with its red zone: no fault, no error.
        device.Launch(stream, "fill_one_too_many", new LaunchConfig(1, 65), new KernelArguments().Add(y).Add(64));

        Assert.That(Download(device, y, 64), Is.All.EqualTo(1f));
    }

    [Test]
    public void SharedDeclarationTheChecksCannotBound_IsABuildError()
    {
        const string source = """
            #ifdef CUDANN_EMULATOR
            #include "cuda_emulator.h"
            #endif
            extern "C" __global__ void two_in_one(float* y)
            {
                __shared__ float a[4], b[4];
                a[threadIdx.x] = b[threadIdx.x] = 0.0f;
            }
            """;

        var error = Assert.Throws<EmulatorBuildException>(() => new EmulatorSourceFiles(source, "two.cu"));

        Assert.That(error!.Message, Does.Contain("two.cu:6").And.Contain("__shared__ float a[4], b[4];").And.Contain("one static __shared__ variable per statement"));
    }
}
