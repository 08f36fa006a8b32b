using System.Runtime.InteropServices;
using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>Dynamic shared memory, 16-byte vector loads, atomics and the unpacking of cuLaunchKernel's void**.</summary>
public class EmulatorMemoryTests
{
    [TestCase(32)]
    [TestCase(96)]
    [TestCase(1024)]
    public void DynamicSharedMemory_ReversesEachBlock_InBothOrders(int block)
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int blocks = 3;
        float[] x = RandomFloats(blocks * block, seed: 800 + block);
        DevicePtr dx = Upload(device, x);
        var config = new LaunchConfig(blocks, block, block * sizeof(float));

        var (ascending, descending) = BothOrders(device, () =>
        {
            DevicePtr y = Poisoned(device, stream, x.Length);
            device.Launch(stream, "reverse_in_block", config, new KernelArguments().Add(dx).Add(y));
            return Download(device, y, x.Length);
        });

        float[] expected = Enumerable.Range(0, x.Length).Select(i => x[i / block * block + block - 1 - i % block]).ToArray();
        Assert.That(ascending, Is.EqualTo(expected));
        Assert.That(Bits(descending), Is.EqualTo(Bits(ascending)));
    }

    [Test]
    public void DynamicSharedMemory_DeclaredAsAlignedBytes_HoldsFloats()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int block = 64, blocks = 2;
        float[] x = RandomWholeFloats(block * blocks, seed: 810);
        DevicePtr dx = Upload(device, x), totals = Poisoned(device, stream, blocks);

        device.Launch(stream, "sum_through_raw_shared", new LaunchConfig(blocks, block, block * sizeof(float)), new KernelArguments().Add(dx).Add(totals));

        Assert.That(Download(device, totals, blocks), Is.EqualTo(new[] { x.Take(block).Sum(), x.Skip(block).Sum() }));
    }

    [Test]
    public void DynamicSharedMemory_OverTheLimit_IsRejected()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr buffer = device.Allocate<float>(32);

        Assert.That(() => device.Launch(stream, "reverse_in_block", new LaunchConfig(1, 32, EmulatedComputeDevice.MaxDynamicSharedBytes + 4),
            new KernelArguments().Add(buffer).Add(buffer)), Throws.ArgumentException.With.Message.Contains("49152"));
    }

    // Shorter than one float4, a 3-element tail, a whole number of float4s, and several grid strides with a tail.
    [TestCase(1)]
    [TestCase(23)]
    [TestCase(4096)]
    [TestCase(4097 * 3)]
    public void Float4Loads_ScaleEveryElementIncludingTheTail(int n)
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        float[] x = RandomFloats(n, seed: 820 + n);
        DevicePtr dx = Upload(device, x), y = Poisoned(device, stream, n);

        device.Launch(stream, "scale_vectorized", new LaunchConfig(3, 64), new KernelArguments().Add(dx).Add(y).Add(-1.5f).Add(n));

        Assert.That(Download(device, y, n), Is.EqualTo(x.Select(v => -1.5f * v).ToArray()), "a * x[i] is one rounding: exact match");
    }

    [Test]
    public void AtomicAdd_AccumulatesFloatDoubleAndUnsigned()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        const int n = 1000;
        float[] x = RandomFloats(n, seed: 830);
        DevicePtr dx = Upload(device, x), total = device.Allocate<float>(1), total64 = device.Allocate<double>(1), count = device.Allocate<uint>(1);
        device.Memset(stream, total, 0, sizeof(float));
        device.Memset(stream, total64, 0, sizeof(double));
        device.Memset(stream, count, 0, sizeof(uint));

        device.Launch(stream, "atomic_totals", new LaunchConfig(4, 256), new KernelArguments().Add(dx).Add(total).Add(total64).Add(count).Add(n));

        double expected = x.Sum(v => (double)v), magnitude = x.Sum(v => Math.Abs((double)v));
        float[] gotTotal = new float[1];
        double[] gotTotal64 = new double[1];
        uint[] gotCount = new uint[1];
        device.Download<float>(gotTotal, total);
        device.Download<double>(gotTotal64, total64);
        device.Download<uint>(gotCount, count);
        // n float additions in some order: each rounds by at most 2⁻²⁴ of the running magnitude.
        Close.Assert(expected, gotTotal[0], n * Math.Pow(2, -24) * magnitude, 0, "float atomicAdd total");
        Close.Assert(expected, gotTotal64[0], 1e-12 * magnitude, 0, "double atomicAdd total");
        Assert.That(gotCount[0], Is.EqualTo((uint)x.Count(v => v > 0)), "unsigned atomicAdd count");
    }

    [Test]
    public void MixedArgumentTypes_AreUnpackedAsCuLaunchKernelDoes()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr outFloats = Poisoned(device, stream, 4), out64 = device.Allocate<long>(2), bytes = device.Allocate(4);
        device.Upload<byte>(bytes, [3, 5, 7, 11]);
        const long big = 0x1234_5678_9abc_def0;
        var arguments = new KernelArguments().Add(outFloats).Add(-42).Add(2.5f).Add(bytes).Add(big).Add(out64).Add(-0.125).Add((byte)200);

        device.Launch(stream, "echo_arguments", new LaunchConfig(2, 32), arguments);

        long[] got64 = new long[2];
        device.Download<long>(got64, out64);
        Assert.That(Download(device, outFloats, 4), Is.EqualTo(new[] { 2.5f, 3 + 2 * 5 + 4 * 7 + 8 * 11, -0.125f, 200f }));
        Assert.That(got64, Is.EqualTo(new[] { big, -42L }));
    }

    [Test]
    public void ArgumentValues_NeedNotBeAlignedForTheirType()
    {
        using EmulatedComputeDevice device = Device();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr outFloats = Poisoned(device, stream, 4), out64 = device.Allocate<long>(2), bytes = device.Allocate(4);
        device.Upload<byte>(bytes, [1, 0, 0, 0]);
        // Pack every value one byte past an 8-byte boundary; the trampoline must copy, not load through typed pointers.
        byte[] slots = GC.AllocateArray<byte>(8 * 16, pinned: true);
        nint[] pointers = new nint[8];
        object[] values = [outFloats, 7, 1.5f, bytes, 99L, out64, 4.0, (byte)9];
        unsafe
        {
            byte* start = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(slots, 0);
            for (int i = 0; i < values.Length; i++)
            {
                byte* slot = start + 16 * i + 1;
                switch (values[i])
                {
                    case DevicePtr p: *(ulong*)slot = p.Address; break;
                    case int v: *(int*)slot = v; break;
                    case float v: *(float*)slot = v; break;
                    case long v: *(long*)slot = v; break;
                    case double v: *(double*)slot = v; break;
                    case byte v: *slot = v; break;
                }
                pointers[i] = (nint)slot;
            }
        }

        device.Launch(stream, device.GetKernel("echo_arguments"), new LaunchConfig(1, 1), pointers);

        long[] got64 = new long[2];
        device.Download<long>(got64, out64);
        Assert.That(Download(device, outFloats, 4), Is.EqualTo(new[] { 1.5f, 1f, 4f, 9f }));
        Assert.That(got64, Is.EqualTo(new[] { 99L, 7L }));
    }
}
