using CudaNn.Backends.Cuda;
using CudaNn.Cuda;
using CudaNn.Data;

namespace CudaNn.Bench;

/// <summary>
/// `Nn.Bench gpu [--quick] [--device cuda|emulator]`: the GPU measurements of the report, as markdown. Kernel bandwidth
/// beside device-to-device copy, the seed MLP's training step on a fixed batch at batch 64 to 8192 with and without
/// CUDA graphs, and full epochs over the shipped digits from a DataLoader. Without a GPU it prints
/// "skipped: no GPU (reason)" and returns 0; a section that throws is reported and the others still run (returns 1).
/// </summary>
public static class GpuSuite
{
    /// <summary>Kernel benchmark sizes on the emulator: one small size, to run the code path.</summary>
    private static readonly long[] EmulatorKernelSizes = [1L << 12];

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
        long memoryBytes = 1L << 30;
        if (!options.Emulator)
        {
            if (!CudaGpu.TryGet(out CudaGpu? gpu, out string? reason))
            {
                output.WriteLine($"skipped: no GPU ({reason})");
                return 0;
            }
            memoryBytes = gpu.TotalMemoryBytes;
        }
        CudaDevice device = options.Emulator ? CudaDevices.Emulator() : CudaDevices.Cuda();
        output.WriteLine($"## Nn.Bench gpu: {device.Name} ({device.Description}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC" +
            (options.Quick ? ", quick" : "") + (options.Emulator ? " (emulator: code path only, timings mean nothing)" : ""));
        int failures = 0;
        failures += Section(output, "Kernels: bandwidth beside device-to-device copy", () =>
        {
            output.WriteLine("```");
            IReadOnlyList<long> sizes = options.Emulator ? EmulatorKernelSizes : options.Quick ? KernelBenchmarks.DefaultSizes[..2] : KernelBenchmarks.DefaultSizes;
            KernelBenchmarks.RunOn(device.Compute, sizes, output, options.Emulator ? 1 : options.Quick ? 5 : 20, memoryBytes);
            output.WriteLine("```");
        });
        failures += Section(output, "Training step, seed MLP 784-128-64-10 and wide MLP 784-4096-4096-10, fixed batch on the device", () =>
        {
            var rows = new GpuStepBenchmark(device, options).Run();
            output.WriteLine($"CudaNn, {device.Description}: median of {options.Repeats} timings of N steps each (CUDA events), after warm-up.");
            output.WriteLine();
            GpuStepBenchmark.Print(output, rows);
        });
        failures += Section(output, "Training epochs from a DataLoader (gather on the device included)", () =>
        {
            var train = MnistDataSet.LoadDefault(MnistSplit.Train);
            var rows = new GpuEpochBenchmark(device, options).Run(train);
            output.WriteLine($"CudaNn, {device.Description}: Trainer over the shipped training digits, shuffled, median of {options.Epochs} epochs after one untimed.");
            output.WriteLine();
            GpuEpochBenchmark.Print(output, train.Count, rows);
        });
        output.WriteLine(failures == 0 ? "Nn.Bench gpu: all sections ran" : $"Nn.Bench gpu: {failures} section(s) FAILED");
        return failures == 0 ? 0 : 1;
    }

    private static int Section(TextWriter output, string title, Action body)
    {
        output.WriteLine();
        output.WriteLine($"### {title}");
        output.WriteLine();
        try
        {
            body();
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
