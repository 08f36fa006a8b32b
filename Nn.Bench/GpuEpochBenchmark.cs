using System.Globalization;
using CudaNn.Backends.Cuda;
using CudaNn.Data;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Bench;

/// <summary>One row of the epoch table: the full per-step cost of training from a DataLoader, median over the timed epochs.</summary>
internal sealed record EpochTiming(string Mode, long StepsPerEpoch, double EpochMilliseconds, double WallMilliseconds)
{
    public double MicrosecondsPerStep => EpochMilliseconds * 1e3 / StepsPerEpoch;
    public double SamplesPerSecond => GpuEpochBenchmark.BatchSize / (MicrosecondsPerStep * 1e-6);

    /// <summary>An MNIST-sized epoch (60,000 samples, ⌈60000/64⌉ = 938 steps) at this step cost.</summary>
    public double ProjectedMnistEpochMilliseconds => MicrosecondsPerStep * Math.Ceiling(60_000.0 / GpuEpochBenchmark.BatchSize) / 1e3;
}

/// <summary>
/// Training epochs of the seed configuration over the shipped digits exactly as `train` runs them (Trainer over a
/// shuffling DataLoader at batch 64): each step also gathers and normalises its batch on the device and keeps its
/// loss. One untimed epoch captures the graphs; the timed epochs are measured with events (and the wall clock).
/// </summary>
internal sealed class GpuEpochBenchmark(CudaDevice device, GpuSuiteOptions options)
{
    public const int BatchSize = 64;
    private const int EmulatorSteps = 3;

    public IReadOnlyList<EpochTiming> Run(MnistDataSet train) => [Measure(train, graphs: true), Measure(train, graphs: false)];

    public EpochTiming Measure(MnistDataSet train, bool graphs)
    {
        using var model = MlpSpec.Default.Create(new Generator(1), device);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        using var trainer = new Trainer(model, optimizer, graphs);
        using var loader = DataLoader.FromMnist(train, BatchSize, shuffle: true, new Generator(1), device);
        // The emulator takes a few steps per "epoch": the code path is what it checks.
        long Limit() => options.Emulator ? trainer.Steps + EmulatorSteps : long.MaxValue;

        trainer.TrainEpoch(loader, 1, Limit());
        var deviceMs = new List<double>();
        var wallMs = new List<double>();
        long steps = 0;
        for (int epoch = 2; epoch < 2 + options.Epochs; epoch++)
        {
            EpochResult? result = null;
            int e = epoch;
            deviceMs.Add(GpuTiming.Milliseconds(device, () => result = trainer.TrainEpoch(loader, e, Limit())));
            if (!double.IsFinite(result!.TrainLoss))
                throw new InvalidOperationException($"epoch {epoch} ({(graphs ? "graph" : "eager")}): training loss {result.TrainLoss}");
            wallMs.Add(result.Elapsed.TotalMilliseconds);
            steps = result.Steps;
        }
        return new EpochTiming(graphs ? "graph" : "eager", steps, GpuTiming.Median(deviceMs), GpuTiming.Median(wallMs));
    }

    public static void Print(TextWriter output, int samples, IReadOnlyList<EpochTiming> rows)
    {
        output.WriteLine("| data | mode | steps | ms/epoch | wall ms | µs/step | samples/s | 60,000-sample epoch (ms) |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {samples} digits, batch {BatchSize} | {r.Mode} | {r.StepsPerEpoch} | {r.EpochMilliseconds:F2} | {r.WallMilliseconds:F2} | " +
                $"{r.MicrosecondsPerStep:F1} | {r.SamplesPerSecond:N0} | {r.ProjectedMnistEpochMilliseconds:F1} |"));
    }
}
