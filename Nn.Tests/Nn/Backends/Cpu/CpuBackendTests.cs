using System.Numerics;
using CudaNn.Backends;
using CudaNn.Backends.Cpu;
using CudaNn.Backends.Reference;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Backends.Cpu;

/// <summary>
/// Every operation the fast CPU backend replaces, against the reference backend's plain loops. The elementwise ones
/// (SIMD lanes, TensorPrimitives, Adam split over workers) round each element exactly as the loops do, so they must
/// agree bit for bit; the GEMM sums in another order and is held to CpuGemmTests' bound.
/// </summary>
[TestFixture(typeof(float))]
[TestFixture(typeof(double))]
public class CpuBackendTests<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static Backend Fast => CpuBackend<T>.Instance;
    private static Backend Reference => ReferenceBackend<T>.Instance;
    private static DType Type => DTypeExtensions.Of<T>();

    // Odd lengths: a SIMD body and a tail, and several workers' shares for Adam; 517 x 131 is split across the cores.
    [TestCase(37, 53)]
    [TestCase(64, 784)]
    [TestCase(517, 131)]
    public void ElementwiseOperations_AgreeBitForBit(int rows, int cols)
    {
        var random = Seeded.Random(7000 + rows);
        var x = Values(random, rows * cols);
        var dy = Values(random, rows * cols);
        var bias = Values(random, cols);
        foreach (var activation in TestActivations.All)
        {
            Same($"ActivationForward {activation}", b => { var y = Out(b, rows * cols); b.ActivationForward(On(b, x), y, activation); return y; });
            // The backward reads y, or x where the activation's derivative needs it; either way a value from the forward's domain.
            Same($"ActivationBackward {activation}", b => { var d = Out(b, rows * cols); b.ActivationBackward(On(b, x), On(b, dy), d, activation); return d; });
            foreach (bool withBias in new[] { false, true })
                Same($"BiasActivationForward {activation}, bias {withBias}", b =>
                {
                    var y = On(b, x, rows, cols);
                    b.BiasActivationForward(y, withBias ? On(b, bias) : null, activation);
                    return y;
                });
        }
        Same("Multiply", b => { var z = Out(b, rows * cols); b.Multiply(On(b, x), On(b, dy), z); return z; });
        foreach (bool accumulate in new[] { false, true })
            Same($"BiasGradient, accumulate {accumulate}", b => { var db = On(b, bias); b.BiasGradient(On(b, dy, rows, cols), db, accumulate); return db; });
    }

    // 100 rows of 784 are split across the cores; 2,700 rows (8.5 MB of float32) are written past the caches.
    [TestCase(37)]
    [TestCase(100)]
    [TestCase(2700)]
    public void GatherNormalize_AgreesBitForBit(int batch)
    {
        var random = Seeded.Random(7100);
        const int count = 150, features = 784;
        byte[] images = new byte[count * features], labels = new byte[count];
        random.NextBytes(images);
        random.NextBytes(labels);
        int[] indices = Enumerable.Range(0, batch).Select(_ => random.Next(count)).ToArray();
        Same("GatherNormalize", b =>
        {
            var x = Out(b, batch * features).View(batch, features);
            using var y = Tensor.FromArray(Enumerable.Repeat(-1, batch).ToArray(), [batch], b.Device);
            b.GatherNormalize(Tensor.FromArray(images, [count, features], b.Device), Tensor.FromArray(labels, [count], b.Device),
                Tensor.FromArray(indices, [batch], b.Device), x, y, 0.1307, 0.3081);
            Assert.That(y.ToArray<int>(), Is.EqualTo(indices.Select(i => (int)labels[i])).AsCollection, "labels");
            return x;
        });
    }

    [Test]
    public void GatherNormalize_AnIndexOutOfRange_ThrowsBeforeWritingAnything()
    {
        const int count = 20, features = 784, batch = 100;
        var indices = Enumerable.Range(0, batch).Select(i => i % count).ToArray();
        indices[batch - 1] = count;
        var x = Out(Fast, batch * features).View(batch, features);
        using var y = Tensor.FromArray(Enumerable.Repeat(-1, batch).ToArray(), [batch]);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Fast.GatherNormalize(Tensor.Zeros([count, features], DType.UInt8),
            Tensor.Zeros([count], DType.UInt8), Tensor.FromArray(indices, [batch]), x, y, 0.5, 0.5))!;
        Assert.That(error.Message, Does.Contain($"index {count} outside a data set of {count}"));
        Assert.That(Doubles(x), Has.All.NaN, "x was written");
        Assert.That(y.ToArray<int>(), Has.All.EqualTo(-1), "y was written");
    }

    // 7,000 rows of 10 classes are split across the cores; the mean is summed in row order either way.
    [TestCase(37, false)]
    [TestCase(7000, false)]
    [TestCase(7000, true)]
    public void SoftmaxCrossEntropy_AgreesBitForBit(int rows, bool inPlace)
    {
        const int classes = 10;
        var random = Seeded.Random(7150 + rows);
        var logits = Values(random, rows * classes).Select(v => 8 * v).ToArray();
        int[] labels = Enumerable.Range(0, rows).Select(_ => random.Next(classes)).ToArray();
        Same($"SoftmaxCrossEntropy {rows} rows, in place {inPlace}", b =>
        {
            var z = On(b, logits, rows, classes);
            var dz = inPlace ? z : Out(b, rows * classes).View(rows, classes);
            var loss = Out(b, 1);
            var total = On(b, [2.5]);
            using var correct = Tensor.FromArray(new[] { 3 }, [1], b.Device);
            b.SoftmaxCrossEntropy(z, Tensor.FromArray(labels, [rows], b.Device), dz, loss, correct, total);
            return On(b, [.. Doubles(dz), .. Doubles(loss), .. Doubles(total), correct.ToArray<int>()[0]]);
        });
    }

    [Test]
    public void SoftmaxCrossEntropy_ALabelOutOfRange_ThrowsBeforeWritingAnything()
    {
        const int rows = 7000, classes = 10;
        int[] labels = Enumerable.Range(0, rows).Select(i => i % classes).ToArray();
        labels[rows - 2] = classes;
        var dz = Out(Fast, rows * classes).View(rows, classes);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Fast.SoftmaxCrossEntropy(Zeros(Fast, rows * classes).View(rows, classes),
            Tensor.FromArray(labels, [rows]), dz, Out(Fast, 1), null))!;
        Assert.That(error.Message, Does.Contain($"label {classes} in row {rows - 2} is outside [0, {classes})"));
        Assert.That(Doubles(dz), Has.All.NaN, "dlogits was written");
    }

    // No rows, or rows of nothing: the split into parts must not divide by the row length or ask for no parts.
    [TestCase(0, 5)]
    [TestCase(3, 0)]
    public void EmptyShapes_AgreeWithTheReference(int rows, int cols)
    {
        var random = Seeded.Random(7180);
        var bias = Values(random, cols);
        Same($"BiasActivationForward {rows}x{cols}", b =>
        {
            var y = On(b, new double[rows * cols], rows, cols);
            b.BiasActivationForward(y, On(b, bias), Activation.ReLU);
            return y;
        });
        Same($"GatherNormalize of {rows} rows of {cols}", b =>
        {
            var x = Out(b, rows * cols).View(rows, cols);
            using var y = Tensor.FromArray(new int[rows], [rows], b.Device);
            b.GatherNormalize(Tensor.Zeros([4, cols], DType.UInt8, b.Device), Tensor.Zeros([4], DType.UInt8, b.Device),
                Tensor.FromArray(new int[rows], [rows], b.Device), x, y, 0.5, 0.5);
            return x;
        });
        if (cols == 0)
            return;
        Same($"SoftmaxCrossEntropy of {rows} rows", b =>
        {
            var dz = Out(b, rows * cols).View(rows, cols);
            var loss = Out(b, 1);
            b.SoftmaxCrossEntropy(On(b, new double[rows * cols], rows, cols), Tensor.FromArray(new int[rows], [rows], b.Device), dz, loss, null);
            return On(b, [.. Doubles(dz), .. Doubles(loss)]);
        });
    }

    [TestCase(false, false, 0.0)]
    [TestCase(false, false, 0.01)]
    [TestCase(true, false, 0.01)]
    [TestCase(true, true, 0.01)]
    public void AdamStep_ThreeSteps_AgreeBitForBit(bool decoupled, bool amsgrad, double weightDecay)
    {
        var random = Seeded.Random(7200);
        const int n = 100_003; // several workers' shares and a tail
        var p0 = Values(random, n);
        var grads = Enumerable.Range(0, 3).Select(_ => Values(random, n)).ToArray();
        double[] hyper = new AdamHyperparameters(1e-3, 0.9, 0.999, 1e-8, weightDecay, decoupled).DeviceValues();
        Same($"Adam decoupled {decoupled} amsgrad {amsgrad}", b =>
        {
            var p = On(b, p0);
            using var m = Zeros(b, n);
            using var v = Zeros(b, n);
            using var maxV = Zeros(b, n);
            using var step = Tensor.FromArray(new[] { 0 }, [1], b.Device);
            using var h = Tensor.FromArray(hyper, [hyper.Length], b.Device);
            foreach (var g in grads)
                b.AdamStep(p, On(b, g), m, v, step, h, decoupled, amsgrad ? maxV : null);
            return p;
        });
    }

    [TestCase(false, true, 37, 53, 129)]
    [TestCase(true, false, 70, 33, 300)]
    public void Gemm_AgreesWithinTheSummationBound(bool transA, bool transB, int m, int n, int k)
    {
        var random = Seeded.Random(7300 + m);
        var a = Values(random, m * k);
        var b = Values(random, k * n);
        var fast = Run(Fast);
        var reference = Run(Reference);
        // Either order of the k products is within k·u·Σ|a b| of the exact sum, so the two within twice that.
        double u = Type == DType.Float32 ? Math.Pow(2, -24) : Math.Pow(2, -53);
        double[] magnitudes = new double[m * n];
        ReferenceBackend<double>.GemmLoops(transA, transB, m, n, k, 1.0, a.Select(Math.Abs).ToArray(), transA ? m : k,
            b.Select(Math.Abs).ToArray(), transB ? k : n, 0.0, magnitudes, n);
        for (int i = 0; i < fast.Length; i++)
            Assert.That(Math.Abs(fast[i] - reference[i]), Is.LessThanOrEqualTo(2 * k * u * magnitudes[i]),
                $"Gemm {(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')} {m}x{n}x{k}, element {i}");

        double[] Run(Backend backend)
        {
            var c = On(backend, Enumerable.Repeat(double.NaN, m * n).ToArray(), m, n);
            backend.Gemm(transA, transB, 1.0, On(backend, a, transA ? k : m, transA ? m : k), On(backend, b, transB ? n : k, transB ? k : n), 0.0, c);
            return Doubles(c);
        }
    }

    private static void Same(string what, Func<Backend, Tensor> run)
    {
        var fast = Doubles(run(Fast));
        var reference = Doubles(run(Reference));
        Assert.That(fast.Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(reference.Select(BitConverter.DoubleToInt64Bits)), what);
    }

    private static double[] Values(Random random, int count) => Enumerable.Range(0, count).Select(_ => random.NextDouble() * 2 - 1).ToArray();

    private static Tensor On(Backend backend, double[] values, params int[] shape)
    {
        var t = Tensor.Empty(shape.Length == 0 ? [values.Length] : shape, Type, backend.Device);
        if (Type == DType.Float32) t.CopyFrom<float>(values.Select(v => (float)v).ToArray());
        else t.CopyFrom<double>(values);
        return t;
    }

    private static Tensor Out(Backend backend, int count) => Filled(backend, count, double.NaN);

    private static Tensor Zeros(Backend backend, int count) => Filled(backend, count, 0.0);

    private static Tensor Filled(Backend backend, int count, double value) => On(backend, Enumerable.Repeat(value, count).ToArray());

    private static double[] Doubles(Tensor t) =>
        Type == DType.Float32 ? t.ToArray<float>().Select(v => (double)v).ToArray() : t.ToArray<double>();
}
