using CudaNn.Backends;
using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// Activation kernels against <see cref="ReferenceBackend{T}"/> (float). Tolerances: the identity, ReLU and leaky ReLU,
/// and every backward but GELU's and SiLU's, are the same float operations in the same order as the reference, so they
/// must match bit for bit; the other forwards, and the backward of GELU and SiLU (from x), go through the device's
/// expf/tanhf/erff (within 2 ulp; the CPU computes GELU's erf in float64), so |error| &lt;= 1e-7 + 1e-6 |expected|.
/// </summary>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class ActivationKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    private static IEnumerable<TestCaseData> Cases() =>
        from activation in TestActivations.All
        from n in Sizes
        from misaligned in new[] { false, true }
        select new TestCaseData(activation, n, misaligned);

    [TestCaseSource(nameof(Cases))]
    public void Forward_MatchesTheCpuReference(Activation activation, int n, bool misaligned)
    {
        float[] x = Uniform(Seeded(1000 + n), n, -6, 6);
        x[0] = 0; // ReLU's boundary: y = 0, and its slope 0

        float[] y = Run(b =>
        {
            DevicePtr xs = b.Floats(x, misaligned), ys = b.Poisoned(n, misaligned);
            Kernels.ActivationForward(Stream, activation.Kernel, xs, ys, n);
            return [b.Read(ys, n)];
        })[0];

        float[] expected = Reference(x, activation);
        bool exact = activation.Name is "identity" or "relu" or "leaky_relu";
        double rel = exact ? 0 : 1e-6, abs = exact ? 0 : 1e-7;
        Close.Assert(expected, y, abs, rel, $"{activation} forward, n={n}");
    }

    [TestCaseSource(nameof(Cases))]
    public void Backward_MatchesTheCpuReferenceBitForBit(Activation activation, int n, bool misaligned)
    {
        Random random = Seeded(2000 + n);
        float[] x = Uniform(random, n, -4, 4);
        float[] y = activation.BackwardReadsInput ? x : Reference(x, activation); // what the backward reads
        float[] dy = Uniform(random, n);

        float[] dx = Run(b =>
        {
            DevicePtr ys = b.Floats(y, misaligned), dys = b.Floats(dy, misaligned), dxs = b.Poisoned(n, misaligned);
            Kernels.ActivationBackward(Stream, activation.Kernel, ys, dys, dxs, n);
            return [b.Read(dxs, n)];
        })[0];

        var expected = Tensor.Zeros([n]);
        ReferenceBackend<float>.Instance.ActivationBackward(Tensor.FromArray(y, [n]), Tensor.FromArray(dy, [n]), expected, activation);
        if (activation.Name is "gelu" or "silu")
            Close.Assert(expected.ToArray<float>(), dx, 1e-7, 1e-6, $"{activation} backward, n={n}");
        else
            Assert.That(dx, Is.EqualTo(expected.ToArray<float>()), $"{activation} backward, n={n}");
    }

    [Test]
    public void Forward_InPlace_IsAllowed()
    {
        float[] x = Uniform(Seeded(3000), 1023, -3, 3);

        float[] y = Run(b =>
        {
            DevicePtr xs = b.Floats(x, misaligned: true);
            Kernels.ActivationForward(Stream, Activation.Tanh.Kernel, xs, xs, x.Length);
            return [b.Read(xs, x.Length)];
        })[0];

        Close.Assert(Reference(x, Activation.Tanh), y, 1e-7, 1e-6, "tanh in place");
    }

    private static float[] Reference(float[] x, Activation activation)
    {
        var y = Tensor.Zeros([x.Length]);
        ReferenceBackend<float>.Instance.ActivationForward(Tensor.FromArray(x, [x.Length]), y, activation);
        return y.ToArray<float>();
    }
}
