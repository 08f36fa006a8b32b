using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>__syncthreads, poisoned shared memory and the fixed warp order: what makes a planted race visible.</summary>
public class EmulatorBarrierTests
{
    [TestCase(32, 100)]
    [TestCase(64, 1000)]
    [TestCase(256, 4097)]
    [TestCase(1024, 3000)]
    public void BlockSum_MatchesScalarReference_InBothWarpOrders(int block, int n)
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        float[] x = RandomWholeFloats(n, seed: 700 + block);
        int blocks = (n + block - 1) / block;
        DevicePtr dx = Upload(device, x);

        var (ascending, descending) = BothOrders(device, () =>
        {
            DevicePtr sums = Poisoned(device, stream, blocks);
            device.Launch(stream, "block_sum", new LaunchConfig(blocks, block), new KernelArguments().Add(dx).Add(sums).Add(n));
            return Download(device, sums, blocks);
        });

        // Whole-number inputs: every order of summation is exact, so the reference is exact too.
        float[] expected = Enumerable.Range(0, blocks).Select(b => x.Skip(b * block).Take(block).Sum()).ToArray();
        Assert.That(ascending, Is.EqualTo(expected));
        Assert.That(Bits(descending), Is.EqualTo(Bits(ascending)), "descending warp order must give the same bits");
    }

    [TestCase(64)]
    [TestCase(128)]
    [TestCase(1024)]
    public void MissingSyncthreads_GivesWrongSumInEveryBlock_EveryRun(int block)
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int blocks = 5;
        float[] x = RandomFloats(blocks * block, seed: 710 + block);
        DevicePtr dx = Upload(device, x);
        DevicePtr sums = device.Allocate<float>(blocks);

        for (int run = 0; run < 3; run++)
        {
            device.Memset32(stream, sums, 0, blocks);
            device.Launch(stream, "block_sum_missing_sync", new LaunchConfig(blocks, block), new KernelArguments().Add(dx).Add(sums).Add(x.Length));
            float[] got = Download(device, sums, blocks);
            for (int b = 0; b < blocks; b++)
            {
                double expected = x.Skip(b * block).Take(block).Sum(v => (double)v);
                Assert.That(float.IsNaN(got[b]) || Math.Abs(got[b] - expected) > 1e-3, Is.True,
                    $"run {run}, block {b}: the planted race gave {got[b]}, indistinguishable from the right sum {expected}");
            }
        }
    }

    [Test]
    public void PlantedWriteThenReadRace_DiffersBetweenWarpOrders()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int block = 128, blocks = 3, n = block * blocks;
        float[] x = RandomFloats(n, seed: 720);
        DevicePtr dx = Upload(device, x);

        var (ascending, descending) = BothOrders(device, () =>
        {
            DevicePtr y = Poisoned(device, stream, n);
            device.Launch(stream, "mirror_race", new LaunchConfig(blocks, block), new KernelArguments().Add(dx).Add(y));
            return Download(device, y, n);
        });

        Assert.That(Bits(descending), Is.Not.EqualTo(Bits(ascending)), "a race that reads before the writer ran must show in one order or the other");
        Assert.That(ascending.Take(32), Is.All.NaN, "ascending: warp 0 reads the last warp's slots before they are written");
    }

    [Test]
    public void ThreadsAtDifferentSyncthreads_FailWithDivergentBarrier_AndDeviceStaysUsable()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr y = device.Allocate<float>(64);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "divergent_barrier", new LaunchConfig(1, 64), new KernelArguments().Add(y)));

        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("divergent_barrier").And.Contain("divergent barrier").And.Contain(ProgramName));
        AssertBlockSumStillWorks(device, stream);
    }

    [Test]
    public void BarrierWhileOtherLanesWaitInAShuffle_FailsWithDivergentBarrier()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr y = device.Allocate<float>(64);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "barrier_inside_shuffle", new LaunchConfig(1, 64), new KernelArguments().Add(y)));

        TestContext.Out.WriteLine(error!.Message);
        Assert.That(error.Message, Does.Contain("divergent barrier").And.Contain("__shfl_xor_sync"));
        AssertBlockSumStillWorks(device, stream);
    }

    [Test]
    public void Trap_FailsTheLaunchNamingTheThread()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        float[] x = Enumerable.Repeat(1f, 64).ToArray();
        x[37] = -1;
        DevicePtr dx = Upload(device, x);

        var error = Assert.Throws<EmulatedKernelException>(() =>
            device.Launch(stream, "trap_when_negative", new LaunchConfig(1, 64), new KernelArguments().Add(dx)));

        Assert.That(error!.Message, Does.Contain("__trap").And.Contain("thread (37,0,0)"));
    }

    private static void AssertBlockSumStillWorks(EmulatedComputeDevice device, IDeviceStream stream)
    {
        float[] x = RandomWholeFloats(256, seed: 730);
        DevicePtr dx = Upload(device, x), sums = Poisoned(device, stream, 1);
        device.Launch(stream, "block_sum", new LaunchConfig(1, 256), new KernelArguments().Add(dx).Add(sums).Add(256));
        Assert.That(Download(device, sums, 1)[0], Is.EqualTo(x.Sum()), "a launch after a failed one must run normally");
    }
}
