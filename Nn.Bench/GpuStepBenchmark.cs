using System.Globalization;
using CudaNn.Backends.Cuda;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Bench;

/// <summary>One row of the step table: a batch size and mode, with the median and fastest of the repeated timings.</summary>
/// <param name="Nodes">Operations in the captured step's graph (kernels, cuBLAS's own kernels, copies); 0 for eager steps.</param>
internal sealed record StepTiming(int BatchSize, string Mode, double MedianMicroseconds, double MinMicroseconds, int Nodes)
{
    public double SamplesPerSecond => BatchSize / (MedianMicroseconds * 1e-6);
    public double GemmGflops => GpuStepBenchmark.GemmFlopPerSample * BatchSize / (MedianMicroseconds * 1e3);
}

/// <summary>
/// A training step of the seed MLP (784-128-64-10 ReLU, cross-entropy, Adam lr 1e-3) on a fixed batch already in
/// device memory: zero_grad, forward, loss, backward, step, either replayed as one CUDA graph (as the trainer does)
/// or launched kernel by kernel from the host ("eager"). Timed with events around N steps after a warm-up, repeated;
/// the median is reported. GEMM work per sample: 6·(784·128 + 128·64 + 64·10) FLOP (forward and both backward GEMMs).
/// </summary>
internal sealed class GpuStepBenchmark(GpuDevice device, GpuSuiteOptions options)
{
    public const long GemmFlopPerSample = 6L * (784 * 128 + 128 * 64 + 64 * 10);
    private const int Seed = 20240607;

    /// <summary>
    /// Per batch size: "graph" and "eager" as the trainer runs them by default (see <see cref="GpuDevice.FusedMlpMaxRows"/>),
    /// then "graph, fused" and "graph, cuBLAS layers" with each path forced, which is how that limit is chosen, and
    /// "graph, TF32" and "graph, BF16" with the GEMMs on tensor cores (<see cref="GpuDevice.Precision"/>).
    /// </summary>
    public IReadOnlyList<StepTiming> Run()
    {
        var rows = new List<StepTiming>();
        int limit = device.FusedMlpMaxRows;
        foreach (int batch in options.BatchSizes)
        {
            rows.Add(Measure(batch, graphs: true));
            rows.Add(Measure(batch, graphs: false));
            try
            {
                device.FusedMlpMaxRows = int.MaxValue;
                rows.Add(Measure(batch, graphs: true) with { Mode = "graph, fused" });
                device.FusedMlpMaxRows = 0;
                rows.Add(Measure(batch, graphs: true) with { Mode = "graph, cuBLAS layers" });
                device.FusedMlpMaxRows = limit;
                device.Precision = Precision.TF32;
                rows.Add(Measure(batch, graphs: true) with { Mode = "graph, TF32" });
                device.Precision = Precision.BF16;
                rows.Add(Measure(batch, graphs: true) with { Mode = "graph, BF16" });
            }
            finally
            {
                device.FusedMlpMaxRows = limit;
                device.Precision = Precision.FP32;
            }
        }
        return rows;
    }

    public StepTiming Measure(int batchSize, bool graphs)
    {
        var generator = new Generator(Seed);
        using var model = MlpSpec.Default.Create(generator, device);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        using var lossFn = new CrossEntropyLoss();
        // Inputs in the normalised range of real digits, never zeros; labels uniform over the 10 classes.
        var pixels = new float[batchSize * 784];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)generator.Uniform(-1, 1);
        var labels = Enumerable.Range(0, batchSize).Select(_ => generator.NextInt(10)).ToArray();
        using var x = Tensor.FromArray(pixels, [batchSize, 784], device);
        using var y = Tensor.FromArray(labels, [batchSize], device);
        Tensor? loss = null;
        void Step()
        {
            optimizer.ZeroGrad();
            loss = lossFn.Forward(model.Forward(x), y);
            model.Backward(lossFn.Backward());
            optimizer.Step();
        }
        using var stepGraphs = graphs ? new StepGraphs(device) : null;
        Action step = stepGraphs is null ? Step : () => stepGraphs.Run(x, y, Step);

        GpuTiming.WarmUp(device, step, minimumSteps: 3, options.WarmUp);
        int steps = options.StepsPerTiming(batchSize);
        var perStep = new List<double>();
        for (int r = 0; r < options.Repeats; r++)
        {
            double ms = GpuTiming.Milliseconds(device, () =>
            {
                for (int i = 0; i < steps; i++) step();
            });
            perStep.Add(ms * 1e3 / steps);
        }
        // A diverged run would be timing NaNs: the last step's loss (a graph writes the captured buffer) must be finite.
        double last = loss!.Item();
        if (!double.IsFinite(last))
            throw new InvalidOperationException($"batch {batchSize} ({(graphs ? "graph" : "eager")}): the loss after the timed steps is {last}");
        return new StepTiming(batchSize, graphs ? "graph" : "eager", GpuTiming.Median(perStep), perStep.Min(), stepGraphs?.NodesPerStep ?? 0);
    }

    /// <summary>The step table; the PyTorch baseline prints the same columns and row names (without the graph's node count).</summary>
    public static void Print(TextWriter output, IReadOnlyList<StepTiming> rows)
    {
        output.WriteLine("| batch | mode | µs/step | min µs | samples/s | GEMM GFLOP/s | graph nodes |");
        output.WriteLine("|---:|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.BatchSize} | {r.Mode} | {r.MedianMicroseconds:F1} | {r.MinMicroseconds:F1} | {r.SamplesPerSecond:N0} | {r.GemmGflops:F1} | {(r.Nodes > 0 ? r.Nodes.ToString(CultureInfo.InvariantCulture) : "-")} |"));
    }
}
