using System.Globalization;
using CudaNn.Backends.Cuda;
using CudaNn.Benchmarks;
using CudaNn.Cuda;

namespace CudaNn.Bench;

/// <summary>
/// `Nn.Bench gpu [--quick] [--device cuda|emulator] [--batch-sizes 64,1024]`: the GPU measurements of the report, as
/// markdown, from <see cref="DeviceBenchmark"/> (what `cudann bench` runs): kernels cold beside device-to-device copy,
/// GEMMs, the seed MLP's training step in every plan at batch 64 to 8192 in FP32, TF32 and BF16, the wide MLP
/// 784-4096-4096-10 (GEMM-bound), and epochs over the shipped digits. Without a GPU it prints "skipped: no GPU (reason)"
/// and returns 0; a part that throws is reported and the others still run (returns 1).
/// </summary>
public static class GpuSuite
{
    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        GpuSuiteOptions options;
        try
        {
            options = GpuSuiteOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            output.WriteLine(e.Message);
            return 2;
        }
        if (!options.Emulator && !CudaGpu.TryGet(out _, out string? reason))
        {
            output.WriteLine($"skipped: no GPU ({reason})");
            return 0;
        }
        CudaDevice device = options.Emulator ? CudaDevices.Emulator() : CudaDevices.Cuda();
        output.WriteLine($"## Nn.Bench gpu: {device.Name} ({device.Description}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC" +
            (options.Quick ? ", quick" : "") + (options.Emulator ? " (emulator: code path only, timings mean nothing)" : ""));
        int failures = 0;
        failures += Part(output, "Kernels (cold), GEMMs (cold), training steps of the seed MLP 784-128-64-10, epochs", () => new BenchmarkOptions
        {
            BatchSizes = options.BatchSizes,
            Precisions = options.Precisions,
            Samples = options.Samples,
        }, device);
        failures += Part(output, "Training steps of the wide MLP 784-4096-4096-10", () => new BenchmarkOptions
        {
            Sections = ["steps"],
            Hidden = options.WideHidden,
            BatchSizes = options.WideBatchSizes,
            Precisions = options.Precisions,
            Samples = options.Samples,
        }, device);
        output.WriteLine(failures == 0 ? "Nn.Bench gpu: all parts ran" : $"Nn.Bench gpu: {failures} part(s) FAILED");
        return failures == 0 ? 0 : 1;
    }

    private static int Part(TextWriter output, string title, Func<BenchmarkOptions> options, CudaDevice device)
    {
        output.WriteLine();
        output.WriteLine($"### {title}");
        try
        {
            string? section = null;
            DeviceBenchmark.Run(device, options(), row =>
            {
                if (row.Section != section)
                {
                    section = row.Section;
                    output.WriteLine();
                    output.WriteLine("| section | name | size | median µs | min µs | max µs | GB/s | % of copy | GFLOP/s | µs/step | graph nodes |");
                    output.WriteLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
                }
                static string F(double? v) => v?.ToString("F1", CultureInfo.InvariantCulture) ?? "-";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {row.Section} | {row.Name} | {row.Size} | {row.Microseconds.Median:F2} | {row.Microseconds.Min:F2} | {row.Microseconds.Max:F2} | " +
                    $"{F(row.GigabytesPerSecond)} | {F(row.PercentOfCopy)} | {F(row.GigaflopsPerSecond)} | {F(row.MicrosecondsPerStep)} | {row.GraphNodes?.ToString(CultureInfo.InvariantCulture) ?? "-"} |"));
                output.Flush();
            });
            return 0;
        }
        catch (Exception e)
        {
            output.WriteLine($"FAILED: {e.GetType().Name}: {e.Message}");
            output.WriteLine(e.StackTrace);
            return 1;
        }
        finally
        {
            output.Flush();
        }
    }
}
