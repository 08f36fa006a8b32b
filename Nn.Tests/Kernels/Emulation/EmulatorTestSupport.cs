using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>The emulator test kernels, a device built from them (or skip/fail when g++ is missing), and launch helpers.</summary>
internal static class EmulatorTestSupport
{
    public const string ProgramName = "emulator_test_kernels.cu";

    public static string Source { get; } = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Kernels", "Emulation", ProgramName));

    /// <summary>A fresh device over the test kernels; the build is cached, so only the first one in a run compiles.</summary>
    public static EmulatedComputeDevice Device(string? source = null, EmulatorOptions? options = null)
    {
        try
        {
            return new EmulatedComputeDevice(source ?? Source, options ?? new EmulatorOptions { ProgramName = ProgramName });
        }
        catch (EmulatorBuildException e) when (e.IsCompilerMissing)
        {
            Requirements.SkipOrFail(Requirements.RequireEmulator, $"the host emulator cannot be built: {e.Message}");
            throw;
        }
    }

    /// <summary><paramref name="count"/> uniform floats in [-1, 1) from a printed seed.</summary>
    public static float[] RandomFloats(int count, int seed)
    {
        TestContext.Out.WriteLine($"random inputs: seed {seed}, {count} values");
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1).ToArray();
    }

    /// <summary>Whole numbers in [-8, 8] as floats: every partial sum of up to 2²⁰ of them is exact, in any order.</summary>
    public static float[] RandomWholeFloats(int count, int seed)
    {
        TestContext.Out.WriteLine($"random whole-number inputs: seed {seed}, {count} values");
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)random.Next(-8, 9)).ToArray();
    }

    public static DevicePtr Upload(IComputeDevice device, float[] values)
    {
        DevicePtr pointer = device.Allocate<float>(values.Length);
        device.Upload<float>(pointer, values);
        return pointer;
    }

    /// <summary>A device buffer of <paramref name="count"/> floats, every one NaN, so an element never written shows.</summary>
    public static DevicePtr Poisoned(IComputeDevice device, IDeviceStream stream, int count)
    {
        DevicePtr pointer = device.Allocate<float>(count);
        device.Memset32(stream, pointer, BitConverter.SingleToUInt32Bits(float.NaN), count);
        return pointer;
    }

    public static float[] Download(IComputeDevice device, DevicePtr pointer, int count)
    {
        float[] values = new float[count];
        device.Download<float>(values, pointer);
        return values;
    }

    /// <summary>Runs <paramref name="run"/> with warps ascending, then descending, and returns both outputs.</summary>
    public static (T Ascending, T Descending) BothOrders<T>(EmulatedComputeDevice device, Func<T> run)
    {
        device.WarpOrder = WarpOrder.Ascending;
        T ascending = run();
        device.WarpOrder = WarpOrder.Descending;
        T descending = run();
        device.WarpOrder = WarpOrder.Ascending;
        return (ascending, descending);
    }

    public static uint[] Bits(float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();
}
