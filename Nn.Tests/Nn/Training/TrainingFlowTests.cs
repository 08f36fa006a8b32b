using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.Nn.Backends.Cuda;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Training;

/// <summary>
/// The training loop as a user runs it, on the CUDA backend (the emulator in CI, a GPU where there is one) against
/// the CPU reference: several epochs with evaluation between them, an uneven last batch, a second batch size and a
/// learning-rate change, with graphs on and off. On the emulator every access outside an allocation is an error, so
/// a graph replayed into memory that evaluation or another batch size freed fails here.
/// </summary>
/// <remarks>
/// Tolerance for the weights: 1% of the summed learning rates. An Adam step moves a weight by about lr at most, so Σ lr
/// is how far any weight can travel; the device and the CPU sum their GEMMs in different orders (float32 rounding,
/// ~1e-7 relative) and Adam can turn that into a different step only where a gradient is near zero. A replay into the
/// wrong buffer, or a stale learning rate, moves weights by a sizeable fraction of lr per step, far past 1%.
/// </remarks>
[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class TrainingFlowTests(string device) : CudaDeviceFixture(device)
{
    private const ulong Seed = 20261130;
    private static readonly MnistDataSet Train = MnistDataSet.LoadDefault(MnistSplit.Train).FirstImages(300);
    private static readonly MnistDataSet Test = MnistDataSet.LoadDefault(MnistSplit.Test).FirstImages(500);

    /// <summary>Learning rate of each epoch: the second and third run at a rate set between epochs.</summary>
    private static readonly double[] Rates = [1e-3, 3e-3, 3e-3];

    /// <summary>Batch size of each epoch: 300 digits at 64 end with a batch of 44; the third epoch uses a second loader.</summary>
    private static readonly int[] BatchSizes = [64, 64, 50];

    /// <summary>How the CUDA backend runs the MLP: cuBLAS layer by layer, the fused kernels, or cuBLASLt GEMMs with epilogues.</summary>
    public enum MlpPath { Layers, Fused, Epilogues }

    [TestCase(true, MlpPath.Layers)]
    [TestCase(false, MlpPath.Layers)]
    [TestCase(true, MlpPath.Fused)]
    [TestCase(false, MlpPath.Fused)]
    [TestCase(true, MlpPath.Epilogues)]
    [TestCase(false, MlpPath.Epilogues)]
    public void ThreeEpochsWithEvaluation_UnevenAndSecondBatchSizes_AndALearningRateChange_MatchTheCpu(bool graphs, MlpPath path)
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        var reference = Run(CudaNn.Device.Cpu, graphs: false);
        Device.Plan = path switch { MlpPath.Fused => StepPlan.Fused, MlpPath.Epilogues => StepPlan.Epilogues, _ => StepPlan.Layers };
        FlowResult actual;
        try
        {
            actual = Run(Device, graphs);
        }
        finally
        {
            Device.Plan = StepPlan.Layers;
        }

        Assert.That(actual.Steps, Is.EqualTo(16L), "5 + 5 + 6 optimizer steps");
        for (int e = 0; e < Rates.Length; e++)
        {
            TestContext.Out.WriteLine($"epoch {e + 1}: train loss {actual.TrainLosses[e]:F6} (CPU {reference.TrainLosses[e]:F6}), " +
                $"test {actual.Evaluations[e].Correct}/{actual.Evaluations[e].Count} loss {actual.Evaluations[e].MeanLoss:F6} " +
                $"(CPU {reference.Evaluations[e].Correct}, {reference.Evaluations[e].MeanLoss:F6})");
            Close.Assert(reference.TrainLosses[e], actual.TrainLosses[e], 0, 1e-4, $"epoch {e + 1} train loss");
            Close.Assert(reference.Evaluations[e].MeanLoss, actual.Evaluations[e].MeanLoss, 0, 1e-4, $"epoch {e + 1} test loss");
            Assert.That(actual.Evaluations[e].Correct, Is.EqualTo(reference.Evaluations[e].Correct).Within(2), $"epoch {e + 1} correct test digits");
        }
        double largest = reference.Weights.Zip(actual.Weights, (r, a) => Math.Abs((double)r - a)).Max();
        TestContext.Out.WriteLine($"largest weight difference {largest:E2}, tolerance {WeightTolerance:E2}");
        Close.Assert(reference.Weights, actual.Weights, WeightTolerance, 0, $"weights after 3 epochs (abs {WeightTolerance:E1}, 1% of Σ lr)");
        // Batches of 64, 44 and 50 are captured once each: evaluation and the other sizes freed nothing a graph used.
        Assert.That(actual.Captures, Is.EqualTo(graphs ? 3 : 0), "graphs captured");
        TestContext.Out.WriteLine($"operations per replayed step: {actual.NodesPerStep}");
        if (graphs && Device.Kind == DeviceKind.Emulator)
        {
            // zero_grad launches nothing: the backward writes the gradients it cleared. Fused: the forward of the three
            // layers, softmax-CE with its loss and running total, the backward (gradients down the stack, then every
            // weight and bias gradient), Adam with its step count. Layer by layer: 3 x (GEMM + bias/ReLU), softmax-CE,
            // 3 weight GEMMs + the last bias gradient + 2 input GEMMs + 2 ReLU-backward-and-bias-gradient passes, Adam.
            // Epilogues: 3 GEMMs with bias (and ReLU), softmax-CE, 3 weight GEMMs (the last with its bias gradient),
            // 2 input GEMMs with ReLU's backward and the bias gradient, Adam. Asserted on the emulator only: on a GPU
            // cuBLAS may add kernels of its own (split-K reductions).
            int expected = path switch { MlpPath.Fused => 5, MlpPath.Epilogues => 10, _ => 16 };
            Assert.That(actual.NodesPerStep, Is.EqualTo(expected), $"operations in one replayed training step ({path})");
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void GradientClipping_MatchesTheCpu_AndIsPartOfTheReplayedStep(bool graphs)
    {
        var clip = new Clipping(MaxNorm: 0.5, MaxValue: 0.02);
        var reference = Run(CudaNn.Device.Cpu, graphs: false, clip: clip);
        var actual = Run(Device, graphs, clip: clip);

        TestContext.Out.WriteLine($"last step's gradient norm: {actual.LastGradNorm:R} (CPU {reference.LastGradNorm:R})");
        Assert.That(reference.LastGradNorm, Is.GreaterThan(clip.MaxNorm), "the norm is clipped, not left alone");
        Close.Assert(reference.LastGradNorm!.Value, actual.LastGradNorm!.Value, 0, 1e-4, "the last step's gradient norm");
        Close.AssertAlmostAll(reference.Weights, actual.Weights, WeightTolerance, 100 * WeightTolerance, 0.001, "weights after 3 epochs");
        if (graphs && Device.Kind == DeviceKind.Emulator)
            Assert.That(actual.NodesPerStep, Is.EqualTo(16 + 4), "the layer-by-layer step, then clamp, sum_squares, clip_coefficient and scale_by");
        var unclipped = Run(CudaNn.Device.Cpu, graphs: false);
        double moved = reference.Weights.Zip(unclipped.Weights, (a, b) => Math.Abs(a - b)).Max();
        Assert.That(moved, Is.GreaterThan(10 * WeightTolerance), "clipping changes the training");
    }

    /// <summary>
    /// Dropout inside the replayed step: the device draws the CPU's masks only if every replay advances the count the
    /// kernel reads, so a graph that replayed one mask would leave the CPU's weights far behind.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void Dropout_DrawsTheCpusMasks_AFreshOneEveryReplayedStep(bool graphs)
    {
        var reference = Run(CudaNn.Device.Cpu, graphs: false, dropout: 0.2);
        var actual = Run(Device, graphs, dropout: 0.2);

        Assert.That(reference.DropoutCalls, Is.EqualTo(new ulong[] { 16, 16 }), "one mask per step and layer; evaluation draws none");
        Assert.That(actual.DropoutCalls, Is.EqualTo(reference.DropoutCalls));
        for (int e = 0; e < Rates.Length; e++)
        {
            Close.Assert(reference.TrainLosses[e], actual.TrainLosses[e], 0, 1e-4, $"epoch {e + 1} train loss");
            Assert.That(actual.Evaluations[e].Correct, Is.EqualTo(reference.Evaluations[e].Correct).Within(2), $"epoch {e + 1} correct test digits");
        }
        Close.AssertAlmostAll(reference.Weights, actual.Weights, WeightTolerance, 100 * WeightTolerance, 0.001, "weights after 3 epochs");
        if (graphs && Device.Kind == DeviceKind.Emulator)
            Assert.That(actual.NodesPerStep, Is.EqualTo(18 + 4), "modules one by one (a ReLU module and the Linear below it do not share a backward pass: 18), then two dropout_forward and two multiply");
        var withoutDropout = Run(CudaNn.Device.Cpu, graphs: false);
        double moved = reference.Weights.Zip(withoutDropout.Weights, (a, b) => Math.Abs(a - b)).Max();
        Assert.That(moved, Is.GreaterThan(10 * WeightTolerance), "dropout changes the training");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void LayerNorm_MatchesTheCpu_AndIsPartOfTheReplayedStep(bool graphs)
    {
        var reference = Run(CudaNn.Device.Cpu, graphs: false, layerNorm: true);
        var actual = Run(Device, graphs, layerNorm: true);

        for (int e = 0; e < Rates.Length; e++)
        {
            Close.Assert(reference.TrainLosses[e], actual.TrainLosses[e], 0, 1e-4, $"epoch {e + 1} train loss");
            Assert.That(actual.Evaluations[e].Correct, Is.EqualTo(reference.Evaluations[e].Correct).Within(2), $"epoch {e + 1} correct test digits");
        }
        Close.AssertAlmostAll(reference.Weights, actual.Weights, WeightTolerance, 100 * WeightTolerance, 0.001, "weights after 3 epochs");
        Assert.That(actual.Captures, Is.EqualTo(graphs ? 3 : 0), "graphs captured: evaluation freed nothing the norms' graphs use");
        if (graphs && Device.Kind == DeviceKind.Emulator)
        {
            // zero_grad; 3 GEMMs, 3 bias passes, 2 layer_norm_forward, 2 activation_forward; softmax-CE; 3 weight GEMMs,
            // 3 bias gradients, 2 input GEMMs, 2 activation_backward, 2 x (layer_norm_backward + 2 bias_grad for the norm's
            // weight and bias); Adam.
            Assert.That(actual.NodesPerStep, Is.EqualTo(1 + 10 + 1 + 10 + 6 + 1), "operations in one replayed training step");
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void ParameterGroupsWithAmsgrad_MatchTheCpu_OneUpdateLaunchPerGroupInTheReplayedStep(bool graphs)
    {
        var reference = Run(CudaNn.Device.Cpu, graphs: false, paramGroups: true);
        var actual = Run(Device, graphs, paramGroups: true);
        for (int e = 0; e < Rates.Length; e++)
            Close.Assert(reference.TrainLosses[e], actual.TrainLosses[e], 0, 1e-4, $"epoch {e + 1} train loss");
        Close.AssertAlmostAll(reference.Weights, actual.Weights, WeightTolerance, 100 * WeightTolerance, 0.001, "weights after 3 epochs");
        if (graphs && Device.Kind == DeviceKind.Emulator)
            Assert.That(actual.NodesPerStep, Is.EqualTo(16 + 1), "the layer-by-layer step with a second Adam launch");
        var oneGroup = Run(CudaNn.Device.Cpu, graphs: false);
        Assert.That(reference.Weights.Zip(oneGroup.Weights, (a, b) => Math.Abs(a - b)).Max(), Is.GreaterThan(10 * WeightTolerance),
            "the second group's own rate and weight decay change the training");
    }

    [Test]
    public void AnOutputTheCallerDisposes_EndsOnlyThatView_AndRetiresNoGraph()
    {
        var reference = Run(CudaNn.Device.Cpu, graphs: false, disposeAnOutputAfterEpoch1: true);
        var actual = Run(Device, graphs: true, disposeAnOutputAfterEpoch1: true);

        Close.Assert(reference.Weights, actual.Weights, WeightTolerance, 0, "weights");
        // The layer keeps its buffer when the caller disposes the view it handed out, so no graph has to be captured
        // again: 64 in epoch 1, 44 in epoch 2, 50 in epoch 3, as without the dispose.
        Assert.That(actual.Captures, Is.EqualTo(3), "graphs captured");
    }

    [Test]
    public void ADisposedTensor_ThrowsObjectDisposedNamingIt_WhenAKernelWouldUseIt()
    {
        using var model = MlpSpec.Default.Create(new Generator(2), Device);
        using var x = Tensor.Zeros([3, 784], device: Device);
        var y = model.Forward(x);
        y.Dispose();

        var error = Assert.Throws<ObjectDisposedException>(() => Device.BackendFor(DType.Float32).Fill(y, 1))!;
        Assert.That(error.Message, Does.Contain("Tensor([3, 10], float32, " + Device.Name + ")").And.Contain("was disposed"));
        Assert.That(model.Forward(x).ToArray<float>(), Has.Length.EqualTo(30), "the layer hands out a fresh view of its buffer");
    }

    [Test]
    public void FreeingMemoryAGraphUsed_RetiresTheGraph_AndTheNextStepRunsEagerly()
    {
        using var graphs = new StepGraphs(Device);
        using var x = Tensor.Zeros([2, 3], device: Device);
        using var y = Tensor.Zeros([2], DType.Int32, Device);
        var scratch = Tensor.Zeros([5], device: Device);
        var backend = Device.BackendFor(DType.Float32);
        int eagerRuns = 0;
        void Step()
        {
            eagerRuns++;
            backend.Fill(scratch, 1);
        }

        graphs.Run(x, y, Step);                                  // eager
        graphs.Run(x, y, Step);                                  // captured (its host code ran once more)
        Assert.That(graphs.Run(x, y, Step), Is.True, "replayed");
        scratch.Dispose();                                       // memory the graph writes is freed
        scratch = Tensor.Zeros([5], device: Device);

        Assert.That(graphs.Run(x, y, Step), Is.False, "not replayed after the memory it used was freed");
        Assert.That(eagerRuns, Is.EqualTo(3));
        scratch.Dispose();
    }

    [Test]
    public void AnAllocationInsideACapture_IsReportedAsItself_AndLeavesTheStreamUsable()
    {
        using var graphs = new StepGraphs(Device);
        using var x = Tensor.Zeros([2, 3], device: Device);
        using var y = Tensor.Zeros([2], DType.Int32, Device);
        var made = new List<Tensor>();
        void Step() => made.Add(Tensor.Zeros([1000], device: Device));

        graphs.Run(x, y, Step); // eager
        var error = Assert.Throws<InvalidOperationException>(() => graphs.Run(x, y, Step))!;

        Assert.That(error.Message, Does.StartWith("capturing the training step as a CUDA graph failed: "));
        Assert.That(error.InnerException?.Message, Does.Contain("Allocate is not allowed while a stream is capturing"));
        Assert.That(Device.IsCapturing, Is.False);
        Assert.That(() => Device.Synchronize(), Throws.Nothing);
        foreach (var t in made) t.Dispose();
    }

    /// <summary>1% of the summed learning rates of all steps (see the remarks above).</summary>
    private static double WeightTolerance =>
        0.01 * Rates.Zip(BatchSizes, (lr, b) => lr * Math.Ceiling(Train.Count / (double)b)).Sum();

    private sealed record FlowResult(float[] Weights, double[] TrainLosses, EvaluationResult[] Evaluations, long Steps, int Captures,
        int NodesPerStep, double? LastGradNorm, ulong[] DropoutCalls);

    private sealed record Clipping(double MaxNorm, double MaxValue);

    private static FlowResult Run(Device device, bool graphs, bool disposeAnOutputAfterEpoch1 = false, Clipping? clip = null, double dropout = 0,
        bool layerNorm = false, bool paramGroups = false)
    {
        var generator = new Generator(Seed);
        using var model = (MlpSpec.Default with { Dropout = dropout, LayerNorm = layerNorm }).Create(generator, device);
        // With groups, fc1 follows the schedule of rates below and the rest trains at a fixed 5e-4 with weight decay,
        // with amsgrad's running maximum (so that too is replayed).
        using var optimizer = paramGroups
            ? new Adam([new ParamGroup(model["fc1"].Parameters()), new ParamGroup(model.Parameters().Skip(2), Lr: 5e-4, WeightDecay: 0.01)], lr: Rates[0],
                amsgrad: true)
            : new Adam(model.Parameters(), lr: Rates[0]);
        using var trainer = new Trainer(model, optimizer, graphs) { ClipGradNorm = clip?.MaxNorm, ClipGradValue = clip?.MaxValue };
        using var loader64 = DataLoader.FromMnist(Train, BatchSizes[0], shuffle: true, generator, device);
        using var loader50 = DataLoader.FromMnist(Train, BatchSizes[2], shuffle: true, generator, device);
        using var testLoader = DataLoader.FromMnist(Test, 1000, device: device);
        var losses = new double[Rates.Length];
        var evaluations = new EvaluationResult[Rates.Length];
        for (int e = 0; e < Rates.Length; e++)
        {
            if (paramGroups) optimizer.Groups[0].LearningRate = Rates[e];
            else optimizer.LearningRate = Rates[e];
            losses[e] = trainer.TrainEpoch(BatchSizes[e] == BatchSizes[0] ? loader64 : loader50, e + 1).TrainLoss;
            evaluations[e] = trainer.Evaluate(testLoader);
            if (e == 0 && disposeAnOutputAfterEpoch1)
            {
                // The natural `using var y = model.Forward(x);` of a user, at the training batch size.
                var (x, _) = loader64.First();
                model.Forward(x).Dispose();
            }
        }
        var weights = model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray();
        var calls = model.NamedModules().Select(m => m.Module).OfType<Dropout>().Select(d => d.Calls).ToArray();
        return new FlowResult(weights, losses, evaluations, trainer.Steps, trainer.GraphCaptures, trainer.GraphNodesPerStep, trainer.GradNorm?.Item(), calls);
    }
}
