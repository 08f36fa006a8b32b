using CudaNn.Backends;
using CudaNn.Backends.Cpu;
using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// The GEMM epilogue and the bias gradient against <see cref="ReferenceBackend{T}"/>. Epilogue tolerances as for the
/// activations (identity and ReLU bit for bit). Bias gradient: against the float64 reference, |error| &lt;=
/// 64 · 2⁻²⁴ · (|dbias₀| + Σₙ|dy|), the rounding bound of the kernel's at most ~45 dependent additions.
/// </summary>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class BiasKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    // (rows, cols): batch 1, one column, odd widths (scalar path), widths divisible by 4 (float4 path), wide rows.
    private static readonly (int Rows, int Cols)[] Shapes = [(1, 1), (1, 33), (31, 10), (33, 32), (7, 1023), (5, 4100), (300, 12)];

    private static IEnumerable<TestCaseData> EpilogueCases() =>
        from activation in TestActivations.All
        from shape in Shapes
        from misaligned in new[] { false, true }
        select new TestCaseData(activation, shape.Rows, shape.Cols, misaligned);

    [TestCaseSource(nameof(EpilogueCases))]
    public void BiasActivationForward_MatchesTheCpuReference(Activation activation, int rows, int cols, bool misaligned)
    {
        Random random = Seeded(rows * 7919 + cols);
        float[] y = Uniform(random, rows * cols, -3, 3), bias = Uniform(random, cols);

        float[] result = Run(b =>
        {
            DevicePtr ys = b.Floats(y, misaligned), biases = b.Floats(bias, misaligned);
            Kernels.BiasActivationForward(Stream, ys, biases, rows, cols, activation.Kernel);
            return [b.Read(ys, y.Length)];
        })[0];

        var expected = Tensor.FromArray((float[])y.Clone(), [rows, cols]);
        ReferenceBackend<float>.Instance.BiasActivationForward(expected, Tensor.FromArray(bias, [cols]), activation);
        bool exact = activation == Activation.Identity || activation == Activation.ReLU;
        Close.Assert(expected.ToArray<float>(), result, exact ? 0 : 1e-7, exact ? 0 : 1e-6, $"{activation} epilogue [{rows},{cols}]");
    }

    [Test]
    public void BiasActivationForward_WithoutBias_AppliesTheActivationOnly()
    {
        float[] y = Uniform(Seeded(11), 33 * 32, -2, 2);

        float[] result = Run(b =>
        {
            DevicePtr ys = b.Floats(y);
            Kernels.BiasActivationForward(Stream, ys, DevicePtr.Null, 33, 32, Activation.ReLU.Kernel);
            return [b.Read(ys, y.Length)];
        })[0];

        var expected = Tensor.FromArray((float[])y.Clone(), [33, 32]);
        ReferenceBackend<float>.Instance.BiasActivationForward(expected, null, Activation.ReLU);
        Assert.That(result, Is.EqualTo(expected.ToArray<float>()));
    }

    // Rows past 256 take several chunks and the finishing pass.
    [TestCase(1, 1)]
    [TestCase(1, 10)]
    [TestCase(31, 33)]
    [TestCase(64, 1023)]
    [TestCase(1000, 10)]
    [TestCase(4097, 3)]
    [TestCase(600, 70)]
    public void BiasGrad_AccumulatesColumnSums(int rows, int cols)
    {
        Random random = Seeded(rows * 31 + cols);
        float[] dy = Uniform(random, rows * cols), dbias = Uniform(random, cols);

        float[] result = Run(b =>
        {
            DevicePtr dys = b.Floats(dy, misaligned: true), db = b.Floats(dbias, misaligned: true);
            Kernels.BiasGrad(Stream, dys, db, rows, cols, b.Workspace(DeviceKernels.BiasGradWorkspaceBytes(rows, cols)));
            return [b.Read(db, cols)];
        })[0];

        double[] expected = dbias.Select(v => (double)v).ToArray();
        var reference = Tensor.FromArray(expected, [cols]);
        CpuBackend<double>.Instance.BiasGradient(Tensor.FromArray(dy.Select(v => (double)v).ToArray(), [rows, cols]), reference);
        double[] sums = reference.ToArray<double>();
        for (int c = 0; c < cols; c++)
        {
            double magnitude = Math.Abs(dbias[c]);
            for (int r = 0; r < rows; r++)
                magnitude += Math.Abs(dy[r * cols + c]);
            double bound = 64 * Math.Pow(2, -24) * magnitude;
            Assert.That(Math.Abs(result[c] - sums[c]), Is.LessThanOrEqualTo(bound), $"dbias[{c}] = {result[c]:R}, expected {sums[c]:R}");
        }
    }

    /// <summary>
    /// Written instead of added (a gradient cleared by zero_grad): over NaN, the same bits as adding into zeros, with one
    /// chunk and with several (where bias_grad_finish writes).
    /// </summary>
    [TestCase(64, 10)]
    [TestCase(600, 70)]
    public void BiasGrad_NotAccumulating_WritesWhatAddingToZerosGives(int rows, int cols)
    {
        Random random = Seeded(rows * 17 + cols);
        float[] dy = Uniform(random, rows * cols);
        float[][] results = Run(b =>
        {
            DevicePtr dys = b.Floats(dy), zeros = b.Floats(new float[cols]), poisoned = b.Floats(Enumerable.Repeat(float.NaN, cols).ToArray());
            DevicePtr workspace = b.Workspace(DeviceKernels.BiasGradWorkspaceBytes(rows, cols));
            Kernels.BiasGrad(Stream, dys, zeros, rows, cols, workspace);
            Kernels.BiasGrad(Stream, dys, poisoned, rows, cols, workspace, accumulate: false);
            return [b.Read(zeros, cols), b.Read(poisoned, cols)];
        });
        Assert.That(results[1].All(float.IsFinite), "every element written");
        Assert.That(results[1], Is.EqualTo(results[0]));
    }

    /// <summary>
    /// bias_grad with an activation's output does in one launch what the activation's backward kernel and bias_grad do
    /// in two: the same dz, bit for bit, written over dy, and the same column sums, bit for bit (one chunk and several).
    /// </summary>
    [TestCase("relu", 33, 32)]
    [TestCase("sigmoid", 64, 10)]
    [TestCase("tanh", 600, 70)]
    [TestCase("identity", 300, 12)]
    public void BiasGrad_WithAnActivation_IsItsBackwardThenTheColumnSums(string name, int rows, int cols)
    {
        var activation = Activation.Parse(name);
        Random random = Seeded(rows * 131 + cols);
        float[] dy = Uniform(random, rows * cols, -2, 2), dbias = Uniform(random, cols);
        float[] y = Uniform(random, rows * cols, -1, 1).Select(v => activation == Activation.ReLU ? MathF.Max(v, 0) : activation == Activation.Sigmoid ? (v + 1) / 2 : v).ToArray();
        long workspaceBytes = DeviceKernels.BiasGradWorkspaceBytes(rows, cols);

        float[][] fused = Run(b =>
        {
            DevicePtr dys = b.Floats(dy, misaligned: true), db = b.Floats(dbias), ys = b.Floats(y);
            Kernels.BiasGrad(Stream, dys, db, rows, cols, b.Workspace(workspaceBytes), ys, activation.Kernel);
            return [b.Read(dys, dy.Length), b.Read(db, cols)];
        });
        float[][] separate = Run(b =>
        {
            DevicePtr dys = b.Floats(dy), db = b.Floats(dbias), ys = b.Floats(y);
            if (activation != Activation.Identity) Kernels.ActivationBackward(Stream, activation.Kernel, ys, dys, dys, dy.Length);
            Kernels.BiasGrad(Stream, dys, db, rows, cols, b.Workspace(workspaceBytes));
            return [b.Read(dys, dy.Length), b.Read(db, cols)];
        });

        Assert.That(fused[0], Is.EqualTo(separate[0]), "dz written over dy");
        Assert.That(fused[1], Is.EqualTo(separate[1]), "dbias");
        if (activation == Activation.ReLU) Assert.That(fused[0].Where((v, i) => y[i] == 0).All(v => v == 0), "ReLU's zeros pass no gradient");
    }

    [Test]
    public void BiasGrad_WithAnActivationWhoseSlopeNeedsTheInput_IsRefused()
    {
        Assert.That(() => Kernels.BiasGrad(Stream, DevicePtr.Null, DevicePtr.Null, 0, 1, DevicePtr.Null, DevicePtr.Null, Activation.GELU.Kernel),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("slope comes from the output"));
    }
}
