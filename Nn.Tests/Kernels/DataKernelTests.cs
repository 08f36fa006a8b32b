using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// Batch gather and the utilities against <see cref="ReferenceBackend{T}"/> (float). All of them are the reference's
/// float operations in its order (byte · scale + shift, y + α·x), so every element must match bit for bit.
/// </summary>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class DataKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    // (batch, features, byte offset of the data set, x misaligned): MNIST rows (word path), odd rows (byte path),
    // one feature, batch 1, a data set not 4-byte aligned.
    [TestCase(64, 784, 0, false)]
    [TestCase(31, 784, 0, true)]
    [TestCase(33, 33, 0, false)]
    [TestCase(1, 1, 0, false)]
    [TestCase(1, 784, 0, false)]
    [TestCase(32, 784, 1, false)]
    [TestCase(300, 12, 0, false)]
    public void GatherNormalize_MatchesTheCpuReference(int batch, int features, int imageOffset, bool misaligned)
    {
        const int count = 50;
        const double mean = 0.1307, std = 0.3081;
        Random random = Seeded(batch * 977 + features);
        byte[] images = new byte[count * features], labels = new byte[count];
        random.NextBytes(images);
        random.NextBytes(labels);
        int[] indices = Enumerable.Range(0, batch).Select(_ => random.Next(count)).ToArray();
        indices[0] = count - 1; // the last row of the data set

        float[][] outputs = Run(b =>
        {
            DevicePtr x = b.Poisoned(batch * features, misaligned), y = b.Ints(Enumerable.Repeat(-99, batch).ToArray());
            Kernels.GatherNormalize(Stream, b.Bytes(images, imageOffset), b.Bytes(labels, 3), b.Ints(indices, misaligned), x, y,
                batch, features, count, mean, std);
            return [b.Read(x, batch * features), b.ReadIntBits(y, batch)];
        });

        var xs = Tensor.Zeros([batch, features]);
        var ys = Tensor.Zeros([batch], DType.Int32);
        ReferenceBackend<float>.Instance.GatherNormalize(Tensor.FromArray(images, [count, features]), Tensor.FromArray(labels, [count]),
            Tensor.FromArray(indices, [batch]), xs, ys, mean, std);
        Assert.That(outputs[0], Is.EqualTo(xs.ToArray<float>()), "x");
        Assert.That(outputs[1].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(ys.ToArray<int>()), "y");
    }

    [Test]
    public void GatherNormalize_IndexOutOfRange_GivesANaNRowAndLabelMinusOne()
    {
        float[][] outputs = Run(b =>
        {
            DevicePtr x = b.Poisoned(2 * 4), y = b.Ints([5, 5]);
            Kernels.GatherNormalize(Stream, b.Bytes([1, 2, 3, 4, 5, 6, 7, 8]), b.Bytes([7, 8]), b.Ints([1, 2]), x, y, 2, 4, 2, 0.5, 0.5);
            return [b.Read(x, 8), b.ReadIntBits(y, 2)];
        });

        Assert.That(outputs[0][4..], Has.All.NaN);
        Assert.That(outputs[0][..4], Has.None.NaN);
        Assert.That(outputs[1].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(new[] { 8, -1 }));
    }

    private static IEnumerable<TestCaseData> Cases() =>
        from n in Sizes
        from misaligned in new[] { false, true }
        select new TestCaseData(n, misaligned);

    [TestCaseSource(nameof(Cases))]
    public void FillAxpyCopy_MatchTheReference(int n, bool misaligned)
    {
        Random random = Seeded(9000 + n);
        float[] x = Uniform(random, n), y = Uniform(random, n);
        const float alpha = -0.37f;

        float[][] outputs = Run(b =>
        {
            DevicePtr filled = b.Poisoned(n, misaligned), ys = b.Floats(y, misaligned), copied = b.Poisoned(n, misaligned);
            Kernels.Fill(Stream, filled, n, 2.5f);
            Kernels.Axpy(Stream, b.Floats(x, misaligned), ys, n, alpha);
            Kernels.Copy(Stream, b.Floats(x, misaligned), copied, n);
            return [b.Read(filled, n), b.Read(ys, n), b.Read(copied, n)];
        });

        var axpy = Tensor.FromArray((float[])y.Clone(), [n]);
        ReferenceBackend<float>.Instance.Axpy(alpha, Tensor.FromArray(x, [n]), axpy);
        Assert.That(outputs[0], Has.All.EqualTo(2.5f), "fill");
        Assert.That(outputs[1], Is.EqualTo(axpy.ToArray<float>()), "axpy");
        Assert.That(outputs[2], Is.EqualTo(x), "copy");
    }

    [Test]
    public void Copy_MovesBitPatterns_SoIntsAndNaNPayloadsSurvive()
    {
        int[] words = [0, -1, int.MaxValue, int.MinValue, 0x7fc00001, 0x7f800001, 12345, -42, 0x00000001];

        float[] copied = Run(b =>
        {
            DevicePtr destination = b.Poisoned(words.Length, misaligned: true);
            Kernels.Copy(Stream, b.Ints(words), destination, words.Length);
            return [b.ReadIntBits(destination, words.Length)];
        })[0];

        Assert.That(copied.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(words));
    }
}
