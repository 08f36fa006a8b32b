using CudaNn.Backends;
using CudaNn.Backends.Reference;
using CudaNn.Backends.Cuda;
using CudaNn.Backends.Plans;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Backends.Cuda;

/// <summary>
/// The fused plan (<see cref="FusedPlan"/>) and the layers plan it falls back to, on the CUDA backend, against the layers
/// plan on the reference backend, from the same weights, inputs and starting
/// gradients. Outputs are poisoned with NaN and gradients start from random values, so every element must be written
/// and the parameter gradients must be added to, not overwritten. On the emulator each stack also runs with the
/// warps in descending order and must give the same bits: a missing barrier between layers would not.
/// </summary>
/// <remarks>
/// Tolerance, relative to the largest reference value of each tensor: 4·K·u, K the longest chain of sums a value
/// depends on (the input width plus every layer width plus the rows), u = 2^-24. The device sums in another order
/// than the CPU's blocked GEMMs, which moves each sum by up to about its length in units of rounding; a wrong index
/// or a missed element is off by the values themselves.
/// </remarks>
[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class MlpFusionTests(string device) : CudaDeviceFixture(device)
{
    private const double U = 1.0 / (1 << 24);

    // The layers plan is the default; these tests ask the device for the fused one.
    [SetUp]
    public void UseTheFusedKernels() => Device.Plan = StepPlan.Fused;

    [TearDown]
    public void RestoreTheDefault() => Device.Plan = StepPlan.Layers;

    private static IEnumerable<TestCaseData> Stacks()
    {
        // input width, layer widths, activations, bias, rows, gradient for the input
        yield return Case("seed MLP, batch 64", 784, [128, 64, 10], "RRI", true, 64, false);
        yield return Case("one unit, one row, no bias", 5, [1], "I", false, 1, true);
        yield return Case("four layers of 128, sigmoid last", 33, [128, 128, 128, 128], "TSRS", true, 7, true);
        yield return Case("rows not a multiple of a block's 4", 130, [33, 2], "RI", true, 130, true);
        yield return Case("wider than 128: the layer-by-layer path", 20, [129, 3], "RI", true, 9, true);
        yield return Case("five layers: the layer-by-layer path", 6, [4, 4, 4, 4, 4], "RRRRI", true, 5, false);
    }

    private static TestCaseData Case(string name, int inputs, int[] widths, string activations, bool bias, int rows, bool gradInput) =>
        new TestCaseData(inputs, widths, activations, bias, rows, gradInput).SetName(name);

    [TestCaseSource(nameof(Stacks))]
    public void ForwardAndBackward_MatchTheCpuReference(int inputs, int[] widths, string activations, bool bias, int rows, bool gradInput)
    {
        var random = Seeded.Random(inputs * 7919 + rows * 31 + widths.Length);
        var stack = Stack.Random(random, inputs, widths, activations, bias, rows, gradInput);
        var expected = stack.Run(ReferenceBackend<float>.Instance, CudaNn.Device.Reference);
        var actual = stack.Run(Device.BackendFor(DType.Float32), Device);
        if (Device.Compute is EmulatedComputeDevice emulator)
        {
            emulator.WarpOrder = WarpOrder.Descending;
            try
            {
                var reversed = stack.Run(Device.BackendFor(DType.Float32), Device);
                foreach (var (name, values) in actual)
                    Assert.That(reversed[name], Is.EqualTo(values), $"{name}: the same bits with the warps in descending order");
            }
            finally
            {
                emulator.WarpOrder = WarpOrder.Ascending;
            }
        }

        long chain = inputs + widths.Sum() + rows;
        double tolerance = 4 * chain * U;
        foreach (var (name, values) in expected)
        {
            double scale = values.Max(v => Math.Abs((double)v));
            Close.Assert(values, actual[name], tolerance * scale, 0, $"{name} (abs {tolerance * scale:E1}: 4·{chain}·u of its scale)");
        }
    }

    [Test]
    public void TheFusedPlanUnderTf32_DoesNotApply_AndTheRunTakesTheLayersPlan_WithTheSameResults()
    {
        var backend = Device.BackendFor(DType.Float32);
        var stack = Stack.Random(Seeded.Random(808), 40, [16, 8], "RI", true, 12, true);
        var (fused, fusedPlan) = stack.RunChosen(backend, Device);
        Device.Precision = Precision.TF32;
        try
        {
            Assert.That(StepPlan.Fused.WhyNotFor(Device, [40, 16, 8]), Is.EqualTo("the fused MLP kernels compute in FP32, not TF32"));
            Assert.That(stack.RunChosen(backend, Device).Plan, Is.EqualTo(StepPlan.Layers), "TF32 GEMMs, not FP32 kernels");
        }
        finally
        {
            Device.Precision = Precision.FP32;
        }
        Device.Plan = StepPlan.Layers;
        var (layered, layeredPlan) = stack.RunChosen(backend, Device);

        Assert.That((fusedPlan, layeredPlan), Is.EqualTo((StepPlan.Fused, StepPlan.Layers)));
        foreach (var (name, values) in fused)
        {
            double scale = values.Max(v => Math.Abs((double)v));
            Close.Assert(values, layered[name], 4 * (40 + 24 + 12) * U * scale, 0, name);
        }
        Assert.That(StepPlan.Fused.WhyNotFor(Device, [40, 129, 8]), Does.Contain("at most 128 outputs, not 129").Or.Contain("of 1 to 128 outputs, not 129"));
        Assert.That(StepPlan.Fused.WhyNotFor(CudaNn.Device.Cpu, [40, 16, 8]), Does.Contain("need a GPU or the emulator, not cpu"));
        Assert.That(() => Device.Plan = (StepPlan)7, Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    /// <summary>A stack's weights, input and starting gradients on the host, and how to run it on a backend.</summary>
    private sealed record Stack(int Inputs, int[] Widths, Activation[] Activations, float[][] Weights, float[]?[] Biases,
        float[] X, float[] GradOutput, float[][] WeightGrads, float[]?[] BiasGrads, int Rows, bool GradInput)
    {
        public static Stack Random(Random random, int inputs, int[] widths, string activations, bool bias, int rows, bool gradInput)
        {
            float[] Values(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
            var acts = activations.Select(c => c switch
            {
                'R' => Activation.ReLU,
                'S' => Activation.Sigmoid,
                'T' => Activation.Tanh,
                _ => Activation.Identity,
            }).ToArray();
            int[] ins = [inputs, .. widths[..^1]];
            return new Stack(inputs, widths, acts,
                widths.Select((w, l) => Values(w * ins[l], 1 / Math.Sqrt(ins[l]))).ToArray(),
                widths.Select(w => bias ? Values(w, 0.5) : null).ToArray(),
                Values(rows * inputs, 1), Values(rows * widths[^1], 1),
                widths.Select((w, l) => Values(w * ins[l], 0.1)).ToArray(),
                widths.Select(w => bias ? Values(w, 0.1) : null).ToArray(),
                rows, gradInput);
        }

        /// <summary>Forward then backward on <paramref name="backend"/>; every output and gradient, by name, as floats.</summary>
        public Dictionary<string, float[]> Run(Backend backend, Device device) => RunChosen(backend, device).Results;

        /// <summary>As <see cref="Run"/>, by the plan the device's setting chooses for this stack, and which that was.</summary>
        public (Dictionary<string, float[]> Results, StepPlan Plan) RunChosen(Backend backend, Device device)
        {
            var owned = new List<Tensor>();
            Tensor Make(float[] values, int[] shape)
            {
                var t = Tensor.FromArray(values, shape, device);
                owned.Add(t);
                return t;
            }
            Tensor Poisoned(int[] shape)
            {
                var t = Tensor.Empty(shape, DType.Float32, device);
                backend.Fill(t, double.NaN);
                owned.Add(t);
                return t;
            }
            try
            {
                int layers = Widths.Length;
                var x = Make(X, [Rows, Inputs]);
                var gradOutput = Make(GradOutput, [Rows, Widths[^1]]);
                var stack = new MlpLayer[layers];
                for (int l = 0; l < layers; l++)
                {
                    int inputs = l == 0 ? Inputs : Widths[l - 1];
                    var output = Poisoned([Rows, Widths[l]]);
                    // The last layer without an activation takes gradOutput as its pre-activation gradient, as MlpChain does.
                    var dz = l == layers - 1 && Activations[l] == Activation.Identity ? gradOutput : Poisoned([Rows, Widths[l]]);
                    stack[l] = new MlpLayer(Make(Weights[l], [Widths[l], inputs]), Biases[l] is { } b ? Make(b, [Widths[l]]) : null,
                        Activations[l], output, dz, Make(WeightGrads[l], [Widths[l], inputs]),
                        BiasGrads[l] is { } db ? Make(db, [Widths[l]]) : null);
                }
                var gradInput = GradInput ? Poisoned([Rows, Inputs]) : null;
                var plan = MlpPlan.For(backend, x, stack);
                plan.Forward(backend, x, stack);
                plan.Backward(backend, x, stack, gradOutput, gradInput);

                var results = new Dictionary<string, float[]>();
                for (int l = 0; l < layers; l++)
                {
                    results[$"layer {l} output"] = stack[l].Output.ToArray<float>();
                    results[$"layer {l} dz"] = stack[l].PreActivationGrad!.ToArray<float>();
                    results[$"layer {l} weight grad"] = stack[l].WeightGrad!.ToArray<float>();
                    if (stack[l].BiasGrad is { } biasGrad) results[$"layer {l} bias grad"] = biasGrad.ToArray<float>();
                }
                if (gradInput is not null) results["input grad"] = gradInput.ToArray<float>();
                return (results, plan.Kind);
            }
            finally
            {
                foreach (var t in owned) t.Dispose();
            }
        }
    }
}
