using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Kernels;
using System.Runtime.InteropServices;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// The gradient-clipping kernels against <see cref="ReferenceBackend{T}"/> (float): sum_squares, clip_coefficient and
/// scale_by together as clip_grad_norm_, and clamp as clip_grad_value_.
/// </summary>
/// <remarks>
/// The norm is summed in float64 on both sides, in different orders (chunks and a tree here, one running sum there):
/// sums of n squares agree within n·2^-53 (4e-12 for 40,000), the coefficient's tolerance. Float32 resolves only 6e-8,
/// so for these seeded inputs the float32 norm and coefficient round to the same bits, and the scaled gradients, one
/// float multiply each, match bit for bit. Clamp moves values only to a bound: exact.
/// </remarks>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class GradientKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    // Empty, one element, a misaligned odd size, exactly one chunk (16,384), one past it, several chunks.
    [TestCase(0, false)]
    [TestCase(1, false)]
    [TestCase(33, true)]
    [TestCase(16384, false)]
    [TestCase(16385, true)]
    [TestCase(40000, false)]
    public void ClipGradNorm_MatchesTheCpuReference(int n, bool misaligned)
    {
        Random random = Seeded(7000 + n);
        float[] x = Uniform(random, n, -3, 3);
        const double maxNorm = 0.5;
        int chunks = (int)DeviceKernels.SumSquaresPartials(n);

        float[][] outputs = Run(b =>
        {
            DevicePtr xs = b.Floats(x, misaligned), norm = b.Poisoned(1), coefficient = b.Doubles([double.NaN]);
            DevicePtr partials = b.Doubles(Enumerable.Repeat(double.NaN, Math.Max(chunks, 1)).ToArray());
            Kernels.SumSquares(Stream, xs, n, partials);
            Kernels.ClipCoefficient(Stream, partials, chunks, maxNorm, norm, coefficient);
            Kernels.ScaleBy(Stream, xs, n, coefficient);
            return [b.Read(norm, 1), b.Read(xs, n), b.Read(coefficient, 2)];
        });

        using var grads = Tensor.FromArray((float[])x.Clone(), [n]);
        using var total = Tensor.Zeros([1]);
        ReferenceBackend<float>.Instance.ClipGradNorm([grads], maxNorm, total);
        double exactNorm = Math.Sqrt(x.Sum(v => (double)v * v));
        double coefficientOnDevice = MemoryMarshal.Cast<float, double>(outputs[2])[0];
        Assert.That(coefficientOnDevice, Is.EqualTo(Math.Min(maxNorm / (exactNorm + 1e-6), 1)).Within(1e-10).Percent, "coefficient (1e-12 relative)");
        Assert.That(outputs[0][0], Is.EqualTo(total.ToArray<float>()[0]), "norm");
        Assert.That(outputs[1], Is.EqualTo(grads.ToArray<float>()), "scaled gradients");
    }

    [TestCaseSource(typeof(KernelDeviceFixture), nameof(Sizes))]
    public void Clamp_MatchesTheCpuReference_AndKeepsNaN(int n)
    {
        Random random = Seeded(7100 + n);
        float[] x = Uniform(random, n, -2, 2);
        x[0] = float.NaN;
        if (n > 2) (x[1], x[2]) = (float.PositiveInfinity, float.NegativeInfinity);

        float[] clamped = Run(b =>
        {
            DevicePtr xs = b.Floats(x, misaligned: n % 2 == 1);
            Kernels.Clamp(Stream, xs, n, -0.75f, 0.5f);
            return [b.Read(xs, n)];
        })[0];

        using var reference = Tensor.FromArray((float[])x.Clone(), [n]);
        ReferenceBackend<float>.Instance.Clamp(reference, -0.75, 0.5);
        Assert.That(clamped, Is.EqualTo(reference.ToArray<float>()));
        Assert.That(clamped[0], Is.NaN);
        Assert.That(clamped.Where(v => !float.IsNaN(v)), Has.All.InRange(-0.75f, 0.5f));
    }
}
