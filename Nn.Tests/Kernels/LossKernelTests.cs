using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// Fused softmax cross-entropy and MSE against <see cref="ReferenceBackend{T}"/>. Tolerances: softmax loss
/// 1e-6 + 1e-6 |expected| against the float64 reference; dlogits (1e-6 + 1e-5 |expected|) / N against the float
/// reference (the device's expf and sum order); the correct count exactly; MSE's dpred bit for bit (same float
/// operations) and its loss 1e-6 relative (the double sum's order).
/// </summary>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class LossKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    // (rows, cols): batch 1, one class, MNIST's 10, a full warp, rows longer than a block (1500 > 256 threads),
    // several 256-row chunks.
    [TestCase(1, 1)]
    [TestCase(1, 10)]
    [TestCase(31, 10)]
    [TestCase(33, 32)]
    [TestCase(64, 33)]
    [TestCase(5, 1500)]
    [TestCase(1023, 10)]
    [TestCase(600, 3)]
    public void SoftmaxCrossEntropy_MatchesTheCpuReference(int rows, int cols)
    {
        Random random = Seeded(rows * 1009 + cols);
        // Whole-number logits in a small range make tied maxima common, so the first-maximum rule is exercised.
        float[] logits = Enumerable.Range(0, rows * cols).Select(_ => (float)random.Next(-3, 4) + (random.Next(4) == 0 ? 0.5f : 0f)).ToArray();
        int[] labels = Enumerable.Range(0, rows).Select(_ => random.Next(cols)).ToArray();
        const int correctBefore = 7;
        const float totalBefore = 2.5f;

        float[][] outputs = Run(b =>
        {
            DevicePtr z = b.Floats(logits, misaligned: true), y = b.Ints(labels, misaligned: true);
            DevicePtr dz = b.Poisoned(rows * cols, misaligned: true), loss = b.Poisoned(1), correct = b.Ints([correctBefore]);
            DevicePtr total = b.Floats([totalBefore]);
            Kernels.SoftmaxCrossEntropy(Stream, z, y, dz, loss, correct, rows, cols, b.Workspace(DeviceKernels.SoftmaxCrossEntropyWorkspaceBytes(rows)), total);
            return [b.Read(dz, rows * cols), b.Read(loss, 1), b.ReadIntBits(correct, 1), b.Read(total, 1)];
        });

        var (expectedLoss64, _, _) = Reference<double>(logits, labels, rows, cols, correctBefore);
        var (_, expectedDlogits, expectedCorrect) = Reference<float>(logits, labels, rows, cols, correctBefore);
        Close.Assert(expectedLoss64, outputs[1][0], 1e-6, 1e-6, "loss");
        Close.Assert(expectedDlogits, outputs[0], 1e-6 / rows, 1e-5, "dlogits");
        Assert.That(BitConverter.SingleToInt32Bits(outputs[2][0]), Is.EqualTo(expectedCorrect), "correct count");
        // The running total adds rows x the device's own float loss, exactly as y += alpha x does.
        Assert.That(outputs[3][0], Is.EqualTo(totalBefore + rows * outputs[1][0]), "running total");
    }

    [Test]
    public void SoftmaxCrossEntropy_WithoutDlogitsOrCorrect_GivesTheLossAlone()
    {
        Random random = Seeded(77);
        const int rows = 300, cols = 10;
        float[] logits = Uniform(random, rows * cols, -5, 5);
        int[] labels = Enumerable.Range(0, rows).Select(_ => random.Next(cols)).ToArray();

        float[] loss = Run(b =>
        {
            DevicePtr lossPtr = b.Poisoned(1);
            Kernels.SoftmaxCrossEntropy(Stream, b.Floats(logits), b.Ints(labels), DevicePtr.Null, lossPtr, DevicePtr.Null,
                rows, cols, b.Workspace(DeviceKernels.SoftmaxCrossEntropyWorkspaceBytes(rows)));
            return [b.Read(lossPtr, 1)];
        })[0];

        Close.Assert(Reference<double>(logits, labels, rows, cols, 0).Loss, loss[0], 1e-6, 1e-6, "loss");
    }

    [Test]
    public void SoftmaxCrossEntropy_LabelOutOfRange_GivesNaNLoss()
    {
        float[] loss = Run(b =>
        {
            DevicePtr lossPtr = b.Poisoned(1);
            Kernels.SoftmaxCrossEntropy(Stream, b.Floats([1, 2, 3, 4]), b.Ints([0, 2]), DevicePtr.Null, lossPtr, DevicePtr.Null,
                2, 2, b.Workspace(DeviceKernels.SoftmaxCrossEntropyWorkspaceBytes(2)));
            return [b.Read(lossPtr, 1)];
        })[0];

        Assert.That(loss[0], Is.NaN);
    }

    private static IEnumerable<TestCaseData> MseCases() =>
        from n in Sizes.Append(9000)
        from misaligned in new[] { false, true }
        select new TestCaseData(n, misaligned);

    [TestCaseSource(nameof(MseCases))]
    public void MseLoss_MatchesTheCpuReference(int n, bool misaligned)
    {
        Random random = Seeded(5000 + n);
        float[] pred = Uniform(random, n), target = Uniform(random, n);

        float[][] outputs = Run(b =>
        {
            DevicePtr dpred = b.Poisoned(n, misaligned), loss = b.Poisoned(1);
            Kernels.MseLoss(Stream, b.Floats(pred, misaligned), b.Floats(target, misaligned), dpred, loss, n,
                b.Workspace(DeviceKernels.MseLossWorkspaceBytes(n)));
            return [b.Read(dpred, n), b.Read(loss, 1)];
        });

        var expectedDpred = Tensor.Zeros([n]);
        var expectedLoss = Tensor.Zeros([1]);
        ReferenceBackend<float>.Instance.MseLoss(Tensor.FromArray(pred, [n]), Tensor.FromArray(target, [n]), expectedDpred, expectedLoss);
        Assert.That(outputs[0], Is.EqualTo(expectedDpred.ToArray<float>()), "dpred");
        Close.Assert(expectedLoss.ToArray<float>()[0], outputs[1][0], 0, 1e-6, "loss");
    }

    private static (double Loss, float[] Dlogits, int Correct) Reference<T>(float[] logits, int[] labels, int rows, int cols, int correctBefore)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        DType dtype = DTypeExtensions.Of<T>();
        var z = Tensor.FromArray(logits.Select(v => T.CreateTruncating(v)).ToArray(), [rows, cols]);
        var dz = Tensor.Zeros([rows, cols], dtype);
        var loss = Tensor.Zeros([1], dtype);
        var correct = Tensor.FromArray(new[] { correctBefore }, [1]);
        ReferenceBackend<T>.Instance.SoftmaxCrossEntropy(z, Tensor.FromArray(labels, [rows]), dz, loss, correct);
        float[] dlogits = dz.ToArray<T>().Select(v => float.CreateTruncating(v)).ToArray();
        return (double.CreateTruncating(loss.ToArray<T>()[0]), dlogits, correct.ToArray<int>()[0]);
    }
}
