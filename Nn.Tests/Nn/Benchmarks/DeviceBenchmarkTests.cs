using CudaNn.Backends.Cuda;
using CudaNn.Benchmarks;
using CudaNn.Kernels;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.Kernels;
using CudaNn.Tests.Nn.Backends.Cuda;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Benchmarks;

/// <summary>
/// <see cref="DeviceBenchmark"/> on the emulator, for function: the statistics and rates of each row from a scripted
/// clock, the sizes and flush taken from the card's L2, every kernel of kernels.cu launched by the kernel rows, and the
/// report's JSON read back as written while a damaged one is refused.
/// </summary>
public class DeviceBenchmarkTests
{
    private CudaDevice _device = null!;

    [OneTimeSetUp]
    public void OpenEmulator() => _device = (CudaDevice)TestSupport.Requirements.Emulator();

    [Test]
    public void EachRow_IsTheMedianFastestAndSlowestOfItsSamples_FromTheClock()
    {
        var clock = new ScriptedClock([5, 1, 3, 2, 4]);
        var report = DeviceBenchmark.Run(_device, new BenchmarkOptions { Sections = ["gemms"], Samples = 5, Timer = clock });

        Assert.That(report.Rows, Has.Count.EqualTo(10), "9 GEMMs of 784-128-64-10 at batch 64, and the square one");
        Assert.That(clock.Calls, Is.EqualTo(50), "five samples a row, each one call of the clock");
        foreach (var row in report.Rows)
        {
            Assert.That(row.Microseconds, Is.EqualTo(new SampleStatistics(5, 3, 1, 5)), row.Name);
            Assert.That(row.GigaflopsPerSecond, Is.EqualTo(row.Flop / 3e3), "GFLOP/s from the median");
        }
        var first = report.Rows[0];
        Assert.That((first.Name, first.Size, first.Flop), Is.EqualTo(("forward 784→128, batch 64, FP32", "128x64x784", 2.0 * 128 * 64 * 784)));
        Assert.That(first.Microseconds.SpreadPercent, Is.EqualTo(100 * 4 / 3.0).Within(1e-12));
        Assert.That(SampleStatistics.Of([4, 1, 3, 2]), Is.EqualTo(new SampleStatistics(4, 2.5, 1, 4)), "an even count takes the mean of the middle two");
        Assert.That(() => SampleStatistics.Of([1, double.NaN]), Throws.ArgumentException.With.Message.Contains("NaN"));
    }

    [Test]
    public void KernelRows_LaunchEveryKernelOfKernelsCu_AndSetTheirBandwidthBesideTheCopys()
    {
        var launched = new HashSet<string>();
        var emulator = (EmulatedComputeDevice)_device.Compute;
        void Note(string name) => launched.Add(name);
        emulator.Launching += Note;
        BenchmarkReport report;
        try
        {
            report = DeviceBenchmark.Run(_device, new BenchmarkOptions { Sections = ["kernels"], Samples = 1, Timer = new ScriptedClock([10]) });
        }
        finally
        {
            emulator.Launching -= Note;
        }

        Assert.That(ExpectedKernels.Names.Except(launched), Is.Empty, "every kernel of kernels.cu has a row that launches it");
        var copy = report.Rows[0];
        Assert.That(copy.Name, Is.EqualTo("device-to-device copy"));
        Assert.That(copy.GigabytesPerSecond, Is.EqualTo(8 * 4096 / 10e3));
        var adam = report.Rows.Single(r => r.Name == "adam_step");
        Assert.That(adam.Bytes, Is.EqualTo(28 * 4096));
        Assert.That(adam.PercentOfCopy, Is.EqualTo(100 * 28.0 / 8).Within(1e-9), "the same time moving 28 bytes an element where the copy moves 8");
        var expected = KernelCase.All(new RecordingDevice(), new DeviceKernels(new RecordingDevice()), new RecordingDevice().CreateStream(), 4096).Select(c => c.Name);
        Assert.That(report.Rows.Skip(1).Select(r => r.Name), Is.EqualTo(expected), "one row per case, in order");
        Assert.That(report.Rows.Select(r => r.Size), Is.All.EqualTo("4096 elements"));
    }

    [Test]
    public void SizesAndTheFlush_FollowTheCardsL2()
    {
        const long h100 = 50L << 20;
        Assert.That(DeviceBenchmark.FlushBytes(h100), Is.EqualTo(100L << 20), "twice the L2");
        Assert.That(DeviceBenchmark.FlushBytes(0), Is.EqualTo(1L << 20), "at least 1 MiB");
        Assert.That(DeviceBenchmark.KernelSizes(h100), Is.EqualTo(new long[] { 6_553_600, 64L << 20 }), "two float buffers fill the L2; 32 times that, at most 64M");
        Assert.That(DeviceBenchmark.KernelSizes(4L << 20), Is.EqualTo(new long[] { 524_288, 16L << 20 }));
        Assert.That(_device.L2CacheBytes, Is.Zero, "the emulator has no L2 of its own");
    }

    [Test]
    public void AReport_ReadsBackAsWritten_AndADamagedOneIsRefusedSayingWhat()
    {
        var report = DeviceBenchmark.Run(_device, new BenchmarkOptions { Sections = ["steps"], Samples = 2, Timer = new ScriptedClock([7, 9]) });
        var read = BenchmarkReport.FromJson(report.ToJson(), "report.json");
        Assert.That(read.Rows, Is.EqualTo(report.Rows));
        Assert.That((read.Source, read.Device, read.Emulated), Is.EqualTo((report.Source, report.Device, true)));
        Assert.That(report.Rows.Select(r => r.Name), Is.EqualTo(new[] { "graph, layers", "graph, epilogues", "graph, fused", "eager, layers" }));
        Assert.That(report.Rows.Select(r => r.GraphNodes), Is.EqualTo(new int?[] { 16, 10, 5, null }), "the captured step's operations, as TrainingFlowTests counts them");
        string csv = report.ToCsv();
        Assert.That(csv.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(5));
        Assert.That(csv, Does.StartWith("section,name,size,samples,median_us").And.Contain("steps,\"graph, layers\",\"784-128-64-10, batch 64\",2,8,7,9,"));

        Assert.That(() => BenchmarkReport.FromJson("{ nope", "bad.json"), Throws.TypeOf<InvalidDataException>().With.Message.StartsWith("'bad.json' is not a bench report"));
        Assert.That(() => BenchmarkReport.FromJson("""{"layout": 9, "rows": []}""", "new.json"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("layout 9"));
        Assert.That(() => BenchmarkReport.FromJson("""{"layout": 1, "rows": [{"section": "steps", "name": "x", "size": "s", "samples": 3, "median_us": -1, "min_us": -2, "max_us": 1}]}""", "neg.json"),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("row 0 (steps x)"));
        Assert.That(() => BenchmarkReport.FromJson("""{"layout": 1, "rows": [{"name": "x"}]}""", "short.json"),
            Throws.TypeOf<InvalidDataException>().With.Message.Contains("row 0 lacks a section, name or size"));
    }

    /// <summary>A clock that answers each sample with the next of its times, over and over; it runs no work, so rows are instant.</summary>
    private sealed class ScriptedClock(double[] times) : IStepTimer
    {
        public int Calls { get; private set; }

        public double MicrosecondsPerStep(CudaDevice device, Action step, int steps) => times[Calls++ % times.Length];
    }
}
