using System.Globalization;
using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Bench;

/// <summary>One row of the step table: a model, batch size and mode, with the median and fastest of the repeated timings.</summary>
/// <param name="Nodes">Operations in the captured step's graph (kernels, cuBLAS's own kernels, copies); 0 for eager steps.</param>
internal sealed record StepTiming(string Model, int BatchSize, string Mode, double MedianMicroseconds, double MinMicroseconds, int Nodes, long GemmFlopPerSample)
{
    public double SamplesPerSecond => BatchSize / (MedianMicroseconds * 1e-6);
    public double GemmGflops => GemmFlopPerSample * BatchSize / (MedianMicroseconds * 1e3);
}

/// <summary>
/// A training step of the seed MLP (784-128-64-10 ReLU, cross-entropy, Adam lr 1e-3) on a fixed batch already in
/// device memory: zero_grad, forward, loss, backward, step, either replayed as one CUDA graph (as the trainer does)
/// or launched kernel by kernel from the host ("eager"). Timed with events around N steps after a warm-up, repeated;
/// the median is reported. GEMM work per sample: 6·(784·128 + 128·64 + 64·10) FLOP (forward and both backward GEMMs).
/// A wide MLP, 784-4096-4096-10, shows the GEMM-bound end: 6·(784·4096 + 4096·4096 + 4096·10) FLOP per sample.
/// </summary>
internal sealed class GpuStepBenchmark(CudaDevice device, GpuSuiteOptions options)
{
    private const int Seed = 20240607;

    /// <summary>The wide MLP of the GEMM-bound rows: 784-4096-4096-10, or 784-256-256-10 on the emulator, which only runs the code path.</summary>
    private MlpSpec Wide => new(784, options.Emulator ? [256, 256] : [4096, 4096], 10, Activation.ReLU);

    /// <summary>FLOP of the forward GEMMs and both backward GEMMs per sample.</summary>
    public static long GemmFlopPerSample(MlpSpec spec)
    {
        long flop = 0;
        int inputs = spec.Inputs;
        foreach (int width in spec.Hidden.Append(spec.Classes))
        {
            flop += 6L * inputs * width;
            inputs = width;
        }
        return flop;
    }

    /// <summary>
    /// Per batch size of the seed MLP: "graph" and "eager" as the trainer runs them with the device's plan
    /// (<see cref="CudaDevice.Plan"/>), then each plan pinned, which is how a plan is chosen: "graph, fused", "graph,
    /// cuBLAS layers", "graph, epilogues" (cuBLASLt), and
    /// "graph, TF32" and "graph, BF16" with the GEMMs on tensor cores (<see cref="CudaDevice.Precision"/>). Then the wide
    /// MLP at its batch sizes, by cuBLAS layers and epilogues in each precision.
    /// </summary>
    public IReadOnlyList<StepTiming> Run()
    {
        var rows = new List<StepTiming>();
        var plan = device.Plan;
        try
        {
            foreach (int batch in options.BatchSizes)
            {
                rows.Add(Measure(MlpSpec.Default, batch, graphs: true));
                rows.Add(Measure(MlpSpec.Default, batch, graphs: false));
                device.Plan = StepPlan.Fused;
                rows.Add(Measure(MlpSpec.Default, batch, graphs: true) with { Mode = "graph, fused" });
                device.Plan = StepPlan.Layers;
                rows.Add(Measure(MlpSpec.Default, batch, graphs: true) with { Mode = "graph, cuBLAS layers" });
                device.Plan = StepPlan.Epilogues;
                rows.Add(Measure(MlpSpec.Default, batch, graphs: true) with { Mode = "graph, epilogues" });
                device.Plan = plan;
                device.Precision = Precision.TF32;
                rows.Add(Measure(MlpSpec.Default, batch, graphs: true) with { Mode = "graph, TF32" });
                device.Precision = Precision.BF16;
                rows.Add(Measure(MlpSpec.Default, batch, graphs: true) with { Mode = "graph, BF16" });
                device.Precision = Precision.FP32;
            }
            foreach (int batch in options.WideBatchSizes)
                foreach (var precision in new[] { Precision.FP32, Precision.TF32, Precision.BF16 })
                {
                    device.Precision = precision;
                    string suffix = precision == Precision.FP32 ? "" : $", {precision}";
                    device.Plan = StepPlan.Layers;
                    rows.Add(Measure(Wide, batch, graphs: true) with { Mode = "graph, cuBLAS layers" + suffix });
                    device.Plan = StepPlan.Epilogues;
                    rows.Add(Measure(Wide, batch, graphs: true) with { Mode = "graph, epilogues" + suffix });
                }
        }
        finally
        {
            device.Plan = plan;
            device.Precision = Precision.FP32;
        }
        return rows;
    }

    public StepTiming Measure(MlpSpec spec, int batchSize, bool graphs)
    {
        var generator = new Generator(Seed);
        using var model = spec.Create(generator, device);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        using var lossFn = new CrossEntropyLoss();
        // Inputs in the normalised range of real digits, never zeros; labels uniform over the 10 classes.
        var pixels = new float[batchSize * spec.Inputs];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)generator.Uniform(-1, 1);
        var labels = Enumerable.Range(0, batchSize).Select(_ => generator.NextInt(10)).ToArray();
        using var x = Tensor.FromArray(pixels, [batchSize, spec.Inputs], device);
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
        int steps = options.StepsPerTiming(batchSize, GemmFlopPerSample(spec));
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
        return new StepTiming($"{spec.Inputs}-{string.Join("-", spec.Hidden)}-{spec.Classes}", batchSize, graphs ? "graph" : "eager", GpuTiming.Median(perStep), perStep.Min(),
            stepGraphs?.NodesPerStep ?? 0, GemmFlopPerSample(spec));
    }

    /// <summary>The step table; the PyTorch baseline prints the same columns and row names.</summary>
    public static void Print(TextWriter output, IReadOnlyList<StepTiming> rows)
    {
        output.WriteLine("| model | batch | mode | µs/step | min µs | samples/s | GEMM GFLOP/s | graph nodes |");
        output.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Model} | {r.BatchSize} | {r.Mode} | {r.MedianMicroseconds:F1} | {r.MinMicroseconds:F1} | {r.SamplesPerSecond:N0} | {r.GemmGflops:F1} | {(r.Nodes > 0 ? r.Nodes.ToString(CultureInfo.InvariantCulture) : "-")} |"));
    }
}
