using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// One body of kernel tests run on every device: "emulator" (kernels.cu built with g++, skipped without it unless
/// CUDANN_REQUIRE_EMULATOR=1) and "gpu" (a real device, skipped without one unless CUDANN_REQUIRE_GPU=1).
/// <see cref="Run"/> executes a case three times, with warps ascending, descending (emulator) and ascending again,
/// and requires bit-identical outputs: no race hides behind one schedule, and every result is deterministic.
/// </summary>
public abstract class KernelDeviceFixture(string deviceKind)
{
    /// <summary>Sizes that hit every path: one element, around a warp, around a block of float4s, a tail of one.</summary>
    protected static readonly int[] Sizes = [1, 31, 32, 33, 1023, 4097];

    private protected IComputeDevice Device { get; private set; } = null!;
    private protected DeviceKernels Kernels { get; private set; } = null!;
    private protected IDeviceStream Stream { get; private set; } = null!;

    [OneTimeSetUp]
    public void OpenDevice()
    {
        Device = deviceKind switch
        {
            "emulator" => OpenEmulator(),
            "gpu" => OpenGpu(),
            _ => throw new ArgumentException($"unknown device kind '{deviceKind}'"),
        };
        Kernels = new DeviceKernels(Device);
        Stream = Device.CreateStream();
        TestContext.Out.WriteLine($"device: {Device.Name}");
    }

    [OneTimeTearDown]
    public void CloseDevice()
    {
        Stream?.Dispose();
        Device?.Dispose();
    }

    /// <summary>A fresh generator from <paramref name="seed"/>, printed so a failure can be replayed.</summary>
    protected static Random Seeded(int seed) => TestSupport.Seeded.Random(seed);

    protected static float[] Uniform(Random random, int count, float low = -1, float high = 1) =>
        Enumerable.Range(0, count).Select(_ => low + (high - low) * random.NextSingle()).ToArray();

    /// <summary>
    /// Runs <paramref name="body"/> (which uploads its inputs, launches and downloads its outputs) in each warp
    /// order and again, asserts the outputs' bits agree, and returns the first run's outputs.
    /// </summary>
    private protected float[][] Run(Func<DeviceBuffers, float[][]> body)
    {
        var emulator = Device as EmulatedComputeDevice;
        WarpOrder[] orders = emulator is null ? [WarpOrder.Ascending, WarpOrder.Ascending] : [WarpOrder.Ascending, WarpOrder.Descending, WarpOrder.Ascending];
        float[][]? first = null;
        for (int i = 0; i < orders.Length; i++)
        {
            if (emulator is not null)
                emulator.WarpOrder = orders[i];
            float[][] outputs;
            using (var buffers = new DeviceBuffers(Device, Stream))
            {
                outputs = body(buffers);
                Stream.Synchronize();
            }
            if (first is null)
            {
                first = outputs;
                continue;
            }
            for (int k = 0; k < outputs.Length; k++)
                Assert.That(Bits(outputs[k]), Is.EqualTo(Bits(first[k])), $"output {k} differs between runs (run {i}, warps {orders[i]})");
        }
        if (emulator is not null)
            emulator.WarpOrder = WarpOrder.Ascending;
        return first!;
    }

    private static uint[] Bits(float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();

    private static EmulatedComputeDevice OpenEmulator()
    {
        try
        {
            return new EmulatedComputeDevice(KernelSource.Text, new EmulatorOptions { ProgramName = KernelSource.ProgramName });
        }
        catch (EmulatorBuildException e) when (e.IsCompilerMissing)
        {
            Requirements.SkipOrFail(Requirements.RequireEmulator, $"the host emulator cannot be built: {e.Message}");
            throw;
        }
    }

    private static CudaComputeDevice OpenGpu()
    {
        CudaGpu gpu = Requirements.Gpu();
        Requirements.Nvrtc();
        return new CudaComputeDevice(gpu);
    }
}
