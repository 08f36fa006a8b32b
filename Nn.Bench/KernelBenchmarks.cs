using System.Globalization;
using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Bench;

/// <summary>
/// Times every kernel of kernels.cu on a real GPU with CUDA events at 1M, 16M and 256M elements (rows for the
/// softmax, with 10 classes) and prints the achieved bandwidth beside the device-to-device copy bandwidth measured
/// in the same run. Bytes counted are the kernel's compulsory DRAM traffic (each input read once, each output
/// written once), as its comment in kernels.cu states. Without a GPU it prints why it was skipped.
/// </summary>
public static class KernelBenchmarks
{
    public static readonly long[] DefaultSizes = [1L << 20, 16L << 20, 256L << 20];
    private const int Iterations = 20;

    /// <summary>Runs on GPU 0, or prints "skipped: no GPU (reason)". Returns 0 either way.</summary>
    public static int Run(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!CudaGpu.TryGet(out CudaGpu? gpu, out string? reason))
        {
            output.WriteLine($"KernelBenchmarks skipped: no GPU ({reason})");
            return 0;
        }
        if (!NvrtcCompiler.TryLoad(out _, out string? nvrtcReason))
        {
            output.WriteLine($"KernelBenchmarks skipped: no NVRTC to compile kernels.cu ({nvrtcReason})");
            return 0;
        }
        using var device = new CudaComputeDevice(gpu);
        output.WriteLine($"KernelBenchmarks on {gpu.Name} ({gpu.MultiprocessorCount} SMs, {gpu.TotalMemoryBytes >> 30} GiB), {DateTime.UtcNow:yyyy-MM-dd}");
        RunOn(device, DefaultSizes, output, Iterations, gpu.TotalMemoryBytes);
        return 0;
    }

    /// <summary>Measures every kernel on <paramref name="device"/> at each size that fits in <paramref name="memoryBytes"/>.</summary>
    internal static void RunOn(IComputeDevice device, IReadOnlyList<long> sizes, TextWriter output, int iterations, long memoryBytes)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(output);
        var kernels = new DeviceKernels(device);
        using IDeviceStream stream = device.CreateStream();
        var bench = new KernelTimer(device, stream, iterations);
        output.WriteLine($"source {KernelSource.Sha256[..12]}, {iterations} launches per timing, bytes = compulsory traffic");
        output.WriteLine("kernel                      elements        ms      GB/s   % of copy");
        foreach (long n in sizes)
        {
            // The softmax at n rows of 10 classes is the largest working set: logits, dlogits (40n each) and labels.
            if (n * 88 > memoryBytes * 9 / 10)
            {
                output.WriteLine($"n = {n}: skipped, needs about {n * 88 >> 30} GiB of the device's {memoryBytes >> 30} GiB");
                continue;
            }
            double copy = bench.Bandwidth(2 * 4 * n, [4 * n, 4 * n], null, b => device.CopyDeviceToDevice(stream, b[1], b[0], 4 * n));
            Report(output, "device-to-device copy", n, bench, copy, copy);
            foreach (KernelBenchmarkCase c in KernelBenchmarkCase.All(device, kernels, stream, n))
            {
                double gbs = bench.Bandwidth(c.Bytes, c.Buffers, c.Setup, c.Launch);
                Report(output, c.Name, n, bench, gbs, copy);
            }
        }
    }

    private static void Report(TextWriter output, string name, long n, KernelTimer bench, double gbs, double copy) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-26} {n,10} {bench.LastMilliseconds,9:F4} {gbs,9:F1} {100 * gbs / copy,10:F1}%"));
}
