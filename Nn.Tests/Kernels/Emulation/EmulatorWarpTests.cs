using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>Warp shuffles and votes against scalar references, for every block size the kernels use.</summary>
public class EmulatorWarpTests
{
    // n leaves the last warp of the last block partly filled with data (threads past n contribute 0).
    [TestCase(32, 32 * 3 + 7)]
    [TestCase(64, 64 * 2 + 33)]
    [TestCase(128, 128 * 2 + 1)]
    [TestCase(256, 4097)]
    [TestCase(512, 1023)]
    [TestCase(1024, 2 * 1024 + 31)]
    public void XorAndDownReductions_MatchScalarSums_InBothOrders(int block, int n)
    {
        AssertReductions(block, n, "warp_sum_xor", "warp_sum_down");
    }

    // Blocks that end part-way through a warp: the lanes past the block do not exist.
    [TestCase(48, 48 * 3)]
    [TestCase(100, 333)]
    [TestCase(1000, 2500)]
    [TestCase(1, 5)]
    public void DownReduction_WithPartialLastWarp_MatchesScalarSums(int block, int n)
    {
        AssertReductions(block, n, "warp_sum_down");
    }

    [Test]
    public void ShuffleFromALaneOutsideTheBlock_ReadsNaN()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int block = 48;
        DevicePtr dx = Upload(device, RandomFloats(block, seed: 740)), sums = Poisoned(device, stream, 1);
        device.Memset32(stream, sums, 0, 1);

        // warp_sum_xor assumes whole warps: lanes 16-31 of warp 1 do not exist, so its butterfly reads undefined values.
        device.Launch(stream, "warp_sum_xor", new LaunchConfig(1, block), new KernelArguments().Add(dx).Add(sums).Add(block));

        Assert.That(Download(device, sums, 1)[0], Is.NaN, "hardware leaves such reads undefined; the emulator makes them NaN");
    }

    [Test]
    public void Votes_MatchScalarBallotsCountsAndFlags()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int block = 128, blocks = 3, n = block * blocks, warps = n / 32;
        float[] x = RandomFloats(n, seed: 750);
        for (int i = 32; i < 64; i++) x[i] = 1;   // warp 1: all positive
        for (int i = 64; i < 96; i++) x[i] = -1;  // warp 2: none positive
        DevicePtr dx = Upload(device, x);
        DevicePtr ballots = device.Allocate<uint>(warps), counts = device.Allocate<int>(blocks), flags = device.Allocate<int>(2 * warps);

        device.Launch(stream, "votes", new LaunchConfig(blocks, block), new KernelArguments().Add(dx).Add(ballots).Add(counts).Add(flags));

        uint[] gotBallots = new uint[warps];
        int[] gotCounts = new int[blocks], gotFlags = new int[2 * warps];
        device.Download<uint>(gotBallots, ballots);
        device.Download<int>(gotCounts, counts);
        device.Download<int>(gotFlags, flags);
        for (int w = 0; w < warps; w++)
        {
            uint expected = 0;
            for (int lane = 0; lane < 32; lane++)
                expected |= x[w * 32 + lane] > 0 ? 1u << lane : 0;
            Assert.That(gotBallots[w], Is.EqualTo(expected), $"ballot of warp {w}");
            Assert.That(gotFlags[2 * w], Is.EqualTo(expected != 0 ? 1 : 0), $"__any_sync of warp {w}");
            Assert.That(gotFlags[2 * w + 1], Is.EqualTo(expected == uint.MaxValue ? 1 : 0), $"__all_sync of warp {w}");
        }
        for (int b = 0; b < blocks; b++)
            Assert.That(gotCounts[b], Is.EqualTo(x.Skip(b * block).Take(block).Count(v => v > 0)), $"__syncthreads_count of block {b}");
    }

    private static void AssertReductions(int block, int n, params string[] kernels)
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        float[] x = RandomWholeFloats(n, seed: 760 + block);
        int blocks = (n + block - 1) / block;
        DevicePtr dx = Upload(device, x);
        float[] expected = Enumerable.Range(0, blocks).Select(b => x.Skip(b * block).Take(block).Sum()).ToArray();

        foreach (string kernel in kernels)
        {
            var (ascending, descending) = BothOrders(device, () =>
            {
                DevicePtr sums = Poisoned(device, stream, blocks);
                device.Launch(stream, kernel, new LaunchConfig(blocks, block), new KernelArguments().Add(dx).Add(sums).Add(n));
                return Download(device, sums, blocks);
            });
            Assert.That(ascending, Is.EqualTo(expected), $"{kernel}, block {block}, n {n} (whole numbers: sums are exact)");
            Assert.That(Bits(descending), Is.EqualTo(Bits(ascending)), $"{kernel}: descending warp order must give the same bits");
        }
    }
}
