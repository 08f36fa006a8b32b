using System.Text.Json;
using CudaNn.Benchmarks;
using CudaNn.Kernels;
using CudaNn.Tests.Kernels;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>
/// `cudann bench` on the emulator, for function (its times are the host's): every kernel, GEMM, step and epoch row in
/// --json, a peer's report set beside the table's rows by --compare, CSV, and clear errors for what it cannot do.
/// </summary>
public class BenchCliTests
{
    [OneTimeSetUp]
    public void NeedTheEmulator() => Requirements.Emulator();

    [Test]
    public void BenchJson_OnTheEmulator_ListsEveryKernelGemmPlanAndEpochRow()
    {
        var result = Run("bench", "--device", "emulator", "--json");
        Assert.That(result.Code, Is.Zero, result.Error);
        var report = BenchmarkReport.FromJson(result.Output, "stdout");
        Assert.That(report.Emulated, Is.True);
        Assert.That(report.Device, Does.StartWith("emulator"));
        var recording = new RecordingDevice();
        string[] kernels = ["device-to-device copy", .. KernelCase.All(recording, new DeviceKernels(recording), recording.CreateStream(), 4096).Select(c => c.Name)];
        Assert.That(Names(report, "kernels"), Is.EqualTo(kernels));
        Assert.That(Names(report, "gemms"), Has.Length.EqualTo(10).And.Contains("square, FP32").And.Contains("weight gradient 784x128, batch 64, FP32"));
        Assert.That(Names(report, "steps"), Is.EqualTo(new[] { "graph, layers", "graph, epilogues", "graph, fused", "eager, layers" }));
        Assert.That(Names(report, "epochs"), Is.EqualTo(new[] { "graph, layers", "graph, epilogues", "graph, fused" }));
        Assert.That(report.Rows, Has.All.Matches<BenchmarkRow>(r => r.Microseconds.Median > 0 && r.Microseconds.Count >= 1));
        using var json = JsonDocument.Parse(result.Output);
        Assert.That(json.RootElement.GetProperty("rows")[1].GetProperty("percent_of_copy").GetDouble(), Is.GreaterThan(0), "written for scripts");
    }

    [Test]
    public void Compare_SetsThePeersFastestRowOfTheSameSizeBesideEachRow_AndCsvListsTheRows()
    {
        using var dir = new TempDirectory();
        var peerRows = new[]
        {
            new BenchmarkRow("steps", "pytorch eager", "784-128-64-10, batch 64", new SampleStatistics(3, 900, 850, 950)),
            new BenchmarkRow("steps", "pytorch graph", "784-128-64-10, batch 64", new SampleStatistics(3, 250, 240, 260)),
        };
        string peer = dir.Write("peer.json", System.Text.Encoding.UTF8.GetBytes(new BenchmarkReport("PyTorch 1.13.0", "NVIDIA H200", false, new DateTime(2026, 12, 1), peerRows).ToJson()));

        var table = Run("bench", "--device", "emulator", "--sections", "steps", "--samples", "1", "--compare", peer);
        Assert.That(table.Code, Is.Zero, table.Error);
        Assert.That(table.Output, Does.Contain("emulator: every row runs to check the code; its times are the host's, not a GPU's"));
        Assert.That(table.Output, Does.Contain("beside: PyTorch 1.13.0 on NVIDIA H200, 2026-12-01"));
        var fused = table.Output.Split('\n').Single(l => l.StartsWith("graph, fused", StringComparison.Ordinal));
        Assert.That(fused, Does.Contain("pytorch graph 250.00"));
        double ours = double.Parse(fused.Split(' ', StringSplitOptions.RemoveEmptyEntries)[6], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(fused, Does.EndWith((250 / ours).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "x"), "the peer's time over ours");

        var csv = Run("bench", "--device", "emulator", "--sections", "gemms", "--samples", "1", "--csv");
        Assert.That(csv.Code, Is.Zero, csv.Error);
        var lines = csv.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Does.StartWith("section,name,size,samples,median_us"));
        Assert.That(lines.Skip(1).ToArray(), Has.Length.EqualTo(10));
        Assert.That(lines.Skip(1), Has.All.StartsWith("gemms,"));
    }

    [Test]
    public void WhatBenchCannotDo_IsSaidClearly()
    {
        var cpu = Run("bench", "--device", "cpu");
        Assert.That(cpu.Code, Is.EqualTo(1));
        Assert.That(cpu.Error, Does.Contain("bench measures a GPU, and cpu is none; --device emulator runs every row to check the code"));
        var both = Run("bench", "--device", "emulator", "--json", "--csv");
        Assert.That(both.Error, Does.Contain("--json and --csv: choose one"));
        var section = Run("bench", "--device", "emulator", "--sections", "kernels,disks");
        Assert.That(section.Code, Is.EqualTo(2));
        Assert.That(section.Error, Does.Contain("--sections: 'disks' is not a section"));
        var missing = Run("bench", "--device", "emulator", "--compare", "/nonexistent/peer.json");
        Assert.That(missing.Code, Is.EqualTo(2));
        Assert.That(missing.Error, Does.Contain("--compare: '/nonexistent/peer.json' does not exist"));
        using var dir = new TempDirectory();
        var damaged = Run("bench", "--device", "emulator", "--compare", dir.Write("peer.json", [0x7b, 0x22]));
        Assert.That(damaged.Error, Does.Contain("is not a bench report"));
    }

    /// <summary>
    /// The PyTorch baseline script's report (Nn.Bench/baselines/mlp_gpu_pytorch.py --cpu --no-compile --json, Debian's
    /// PyTorch 1.13; its CPU times mean nothing) is read by --compare, and its rows have our sizes: a step's is set beside
    /// ours by its time, an epoch's by its time a step.
    /// </summary>
    [Test]
    public void ThePyTorchScriptsReport_IsSetBesideOurRows()
    {
        string path = Path.Combine(ReferenceFiles.Folder(), "pytorch-bench-cpu-dry-run.json");
        var peer = BenchmarkReport.Read(path);
        Assert.That(peer.Source, Does.StartWith("PyTorch "));
        var result = Run("bench", "--device", "emulator", "--sections", "steps,epochs", "--samples", "1", "--compare", path);
        Assert.That(result.Code, Is.Zero, result.Error);
        var eager = peer.Rows.Single(r => r.Section == "steps" && r.Name == "pytorch eager" && r.Size == "784-128-64-10, batch 64");
        var epoch = peer.Rows.Single(r => r.Section == "epochs" && r.Name == "pytorch eager");
        string[] lines = result.Output.Split('\n');
        Assert.That(lines.Single(l => l.StartsWith("eager, layers", StringComparison.Ordinal)),
            Does.Contain($"pytorch eager {eager.Microseconds.Median.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}"));
        Assert.That(lines.Single(l => l.StartsWith("graph, layers ", StringComparison.Ordinal) && l.Contains("digits")),
            Does.Contain($"pytorch eager {epoch.MicrosecondsPerStep!.Value.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)}"));
    }

    /// <summary>
    /// bench --kernel: your own kernel's rows, cold beside the copy at the same size, from the bytes its buffers hold
    /// (or the bytes per element given); what is wrong with the file or the kernel is said naming --kernel.
    /// </summary>
    [Test]
    public void BenchKernel_MeasuresYourOwnKernelBesideTheCopy()
    {
        using var dir = new TempDirectory();
        string file = dir.Write("scale.cu", System.Text.Encoding.UTF8.GetBytes("""
            extern "C" __global__ void scale(const float* x, float* y, float factor, long long n)
            {
                for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) y[i] = factor * x[i];
            }
            """));
        var result = Run("bench", "--device", "emulator", "--kernel", file, "--name", "scale", "--elements", "4096,10000", "--samples", "2", "--json");
        Assert.That(result.Code, Is.Zero, result.Error);
        var report = BenchmarkReport.FromJson(result.Output, "stdout");
        Assert.That(report.Rows.Select(r => (r.Name, r.Size)), Is.EqualTo(new[]
        {
            ("device-to-device copy", "4096 elements"), ("scale", "4096 elements"), ("device-to-device copy", "10000 elements"), ("scale", "10000 elements"),
        }));
        Assert.That(report.Rows[1].Bytes, Is.EqualTo(2 * 4 * 4096), "two float buffers, each read or written once");
        Assert.That(report.Rows[1].PercentOfCopy, Is.EqualTo(100 * report.Rows[1].GigabytesPerSecond / report.Rows[0].GigabytesPerSecond).Within(1e-9));
        Assert.That(report.Rows[1].Microseconds.Count, Is.EqualTo(2));
        var given = Run("bench", "--device", "emulator", "--kernel", file, "--name", "scale", "--elements", "4096", "--bytes-per-element", "12", "--json");
        Assert.That(BenchmarkReport.FromJson(given.Output, "stdout").Rows[1].Bytes, Is.EqualTo(12 * 4096));

        Assert.That(Run("bench", "--device", "emulator", "--name", "scale").Error, Does.Contain("--name names the function of a --kernel FILE"));
        Assert.That(Run("bench", "--device", "emulator", "--kernel", file).Error, Does.Contain("name the function to measure with --name"));
        Assert.That(Run("bench", "--device", "emulator", "--kernel", file, "--name", "scal").Error,
            Does.Contain("no extern \"C\" __global__ function named 'scal'; it has scale"));
        string asm = dir.Write("lane.cu", System.Text.Encoding.UTF8.GetBytes("""
            extern "C" __global__ void lane(int* out) { int l; asm("mov.u32 %0, %%laneid;" : "=r"(l)); out[threadIdx.x] = l; }
            """));
        var refused = Run("bench", "--device", "emulator", "--kernel", asm, "--name", "lane");
        Assert.That(refused.Code, Is.EqualTo(1));
        Assert.That(refused.Error, Does.Contain("the emulator cannot run inline PTX (asm)"));
    }

    private static string[] Names(BenchmarkReport report, string section) => report.Rows.Where(r => r.Section == section).Select(r => r.Name).ToArray();
}
