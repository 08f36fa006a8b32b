using CudaNn.Backends;
using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// Adam, AdamW and SGD over flat buffers against <see cref="ReferenceBackend{T}"/> (float), three steps each, with the
/// step count advanced on the device. The kernels round their scalars where the reference does and run the
/// same float operations, so the only room left is an ulp of double pow: |error| &lt;= 1e-6 |expected|.
/// </summary>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class OptimizerKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    private const int Steps = 3;

    private static IEnumerable<TestCaseData> AdamCases() =>
        from decoupled in new[] { false, true }
        from amsgrad in new[] { false, true }
        from n in Sizes
        from misaligned in new[] { false, true }
        select new TestCaseData(decoupled, amsgrad, n, misaligned);

    [TestCaseSource(nameof(AdamCases))]
    public void AdamStep_MatchesTheCpuReference(bool decoupled, bool amsgrad, int n, bool misaligned)
    {
        var h = new AdamHyperparameters(1e-2, 0.9, 0.999, 1e-8, 0.05, decoupled);
        Random random = Seeded(6000 + n);
        float[] param = Uniform(random, n), m = Uniform(random, n, -0.1f, 0.1f), v = Uniform(random, n, 0, 0.01f);
        // amsgrad's running maximum starts above v for some elements and below for others.
        float[] maxV = Uniform(random, n, 0, 0.01f);
        float[][] grads = Enumerable.Range(0, Steps).Select(_ => Uniform(random, n)).ToArray();

        float[][] outputs = Run(b =>
        {
            DevicePtr p = b.Floats(param, misaligned), ms = b.Floats(m, misaligned), vs = b.Floats(v, misaligned), step = b.Ints([0]);
            DevicePtr mx = amsgrad ? b.Floats(maxV, misaligned) : DevicePtr.Null;
            DevicePtr hyper = b.Doubles(h.DeviceValues()), blocksDone = b.Ints([0]);
            foreach (float[] grad in grads)
                Kernels.AdamStep(Stream, p, b.Floats(grad, misaligned), ms, vs, n, hyper, decoupled, step, blocksDone, mx);
            return [b.Read(p, n), b.Read(ms, n), b.Read(vs, n), b.ReadIntBits(step, 1), b.ReadIntBits(blocksDone, 1), amsgrad ? b.Read(mx, n) : []];
        });

        var (p, mr, vr) = (Tensor.FromArray((float[])param.Clone(), [n]), Tensor.FromArray((float[])m.Clone(), [n]), Tensor.FromArray((float[])v.Clone(), [n]));
        using var maxRef = amsgrad ? Tensor.FromArray((float[])maxV.Clone(), [n]) : null;
        using var stepRef = Tensor.Zeros([1], DType.Int32);
        using var hyperRef = Tensor.FromArray(h.DeviceValues(), [AdamHyperparameters.Count]);
        for (int t = 1; t <= Steps; t++)
            ReferenceBackend<float>.Instance.AdamStep(p, Tensor.FromArray(grads[t - 1], [n]), mr, vr, stepRef, hyperRef, decoupled, maxRef);
        Close.Assert(p.ToArray<float>(), outputs[0], 0, 1e-6, "param");
        Close.Assert(mr.ToArray<float>(), outputs[1], 0, 1e-6, "m");
        Close.Assert(vr.ToArray<float>(), outputs[2], 0, 1e-6, "v");
        if (amsgrad) Close.Assert(maxRef!.ToArray<float>(), outputs[5], 0, 1e-6, "max_exp_avg_sq");
        Assert.That(BitConverter.SingleToInt32Bits(outputs[3][0]), Is.EqualTo(Steps), "device step count, advanced by the launches");
        Assert.That(BitConverter.SingleToInt32Bits(outputs[4][0]), Is.Zero, "the block counter is left at zero");
    }

    private static IEnumerable<TestCaseData> SgdCases() =>
        from options in new[] { (0.0, 0.0, false, 0.0), (0.9, 0.0, false, 0.0), (0.9, 0.25, false, 1e-3), (0.9, 0.0, true, 1e-2) }
        from n in new[] { 1, 33, 4097 }
        from misaligned in new[] { false, true }
        select new TestCaseData(options.Item1, options.Item2, options.Item3, options.Item4, n, misaligned);

    [TestCaseSource(nameof(SgdCases))]
    public void SgdStep_MatchesTheCpuReference(double momentum, double dampening, bool nesterov, double weightDecay, int n, bool misaligned)
    {
        var h = new SgdHyperparameters(0.05, momentum, dampening, nesterov, weightDecay);
        Random random = Seeded(7000 + n);
        float[] param = Uniform(random, n), buffer = Uniform(random, n); // the first step must ignore the old buffer
        float[][] grads = Enumerable.Range(0, Steps).Select(_ => Uniform(random, n)).ToArray();
        bool withBuffer = momentum != 0;

        float[][] outputs = Run(b =>
        {
            DevicePtr p = b.Floats(param, misaligned), step = b.Ints([0]), hyper = b.Doubles(h.DeviceValues()), blocksDone = b.Ints([0]);
            DevicePtr buf = withBuffer ? b.Floats(buffer, misaligned) : DevicePtr.Null;
            foreach (float[] grad in grads)
                Kernels.SgdStep(Stream, p, b.Floats(grad, misaligned), buf, n, hyper, step, blocksDone);
            return [b.Read(p, n), withBuffer ? b.Read(buf, n) : [], b.ReadIntBits(step, 1)];
        });

        var p = Tensor.FromArray((float[])param.Clone(), [n]);
        Tensor? bufRef = withBuffer ? Tensor.FromArray((float[])buffer.Clone(), [n]) : null;
        using var stepRef = Tensor.Zeros([1], DType.Int32);
        using var hyperRef = Tensor.FromArray(h.DeviceValues(), [SgdHyperparameters.Count]);
        for (int t = 1; t <= Steps; t++)
            ReferenceBackend<float>.Instance.SgdStep(p, Tensor.FromArray(grads[t - 1], [n]), bufRef, stepRef, hyperRef);
        Close.Assert(p.ToArray<float>(), outputs[0], 0, 1e-6, "param");
        if (bufRef is not null)
            Close.Assert(bufRef.ToArray<float>(), outputs[1], 0, 1e-6, "momentum buffer");
        Assert.That(BitConverter.SingleToInt32Bits(outputs[2][0]), Is.EqualTo(Steps), "device step count");
    }

    [Test]
    public void CapturedStep_ReplaysWithTheDeviceStepCountAndTheLatestHyperparameters()
    {
        // The training step is captured once as a graph; each replay must see t = 1, 2, 3 for the bias corrections,
        // and the learning rate the host writes between replays (a schedule), as the CPU reference does.
        const int n = 1023;
        double[] rates = [1e-2, 3e-3, 5e-2];
        var h = new AdamHyperparameters(rates[0], 0.9, 0.999, 1e-8, 0, Decoupled: false);
        Random random = Seeded(8000);
        float[] param = Uniform(random, n), grad = Uniform(random, n);

        float[] result = Run(b =>
        {
            DevicePtr p = b.Floats(param), g = b.Floats(grad), m = b.Floats(new float[n]), v = b.Floats(new float[n]), step = b.Ints([0]);
            DevicePtr hyper = b.Doubles(h.DeviceValues()), blocksDone = b.Ints([0]);
            Stream.BeginCapture();
            Kernels.AdamStep(Stream, p, g, m, v, n, hyper, h.Decoupled, step, blocksDone);
            using IDeviceGraph graph = Stream.EndCapture();
            foreach (double rate in rates)
            {
                Stream.Synchronize();
                Device.Upload<double>(hyper, (h with { LearningRate = rate }).DeviceValues());
                graph.Launch(Stream);
            }
            return [b.Read(p, n)];
        })[0];

        var (pr, mr, vr) = (Tensor.FromArray((float[])param.Clone(), [n]), Tensor.Zeros([n]), Tensor.Zeros([n]));
        using var stepRef = Tensor.Zeros([1], DType.Int32);
        foreach (double rate in rates)
        {
            using var hyperRef = Tensor.FromArray((h with { LearningRate = rate }).DeviceValues(), [AdamHyperparameters.Count]);
            ReferenceBackend<float>.Instance.AdamStep(pr, Tensor.FromArray(grad, [n]), mr, vr, stepRef, hyperRef, decoupled: false);
        }
        Close.Assert(pr.ToArray<float>(), result, 0, 1e-6, "param after three replays at three learning rates");
    }
}
