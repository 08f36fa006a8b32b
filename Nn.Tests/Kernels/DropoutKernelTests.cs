using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// dropout_forward against <see cref="ReferenceBackend{T}"/> (float) and the host <see cref="Philox"/>: the same mask bit for
/// bit, outputs written over poison, the call advanced by the launch itself and the scratch counter left at 0; and
/// multiply, dropout's backward. Every value is one float multiply on both sides, so the comparisons are exact.
/// </summary>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class DropoutKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    [Test]
    public void DropoutForward_DrawsTheHostMask_AndAdvancesTheCall(
        [ValueSource(typeof(KernelDeviceFixture), nameof(Sizes))] int n, [Values(0.0, 0.3, 1.0)] double p)
    {
        Random random = Seeded(7200 + n);
        float[] x = Uniform(random, n, -2, 2);
        const ulong seed = 0xFEEDFACECAFEBEEF;
        const ulong call = (1UL << 32) - 1; // the next call carries into the high word
        int[] state = unchecked([(int)(uint)seed, (int)(uint)(seed >> 32), (int)(uint)call, (int)(uint)(call >> 32)]);
        bool misaligned = n % 2 == 1;

        float[][] outputs = Run(b =>
        {
            DevicePtr xs = b.Floats(x, misaligned), y = b.Poisoned(n, misaligned), noise = b.Poisoned(n, misaligned);
            DevicePtr rng = b.Ints(state), blocksDone = b.Ints([0]);
            Kernels.DropoutForward(Stream, xs, y, noise, n, Philox.DropoutKeepBelow(p), 1.0f / (float)(1.0 - p), rng, blocksDone);
            return [b.Read(y, n), b.Read(noise, n), b.ReadIntBits(rng, 4), b.ReadIntBits(blocksDone, 1)];
        });

        using var hostX = Tensor.FromArray(x, [n]);
        using var hostY = Tensor.Zeros([n]);
        using var hostNoise = Tensor.Zeros([n]);
        using var hostState = Tensor.FromArray(state, [4]);
        ReferenceBackend<float>.Instance.DropoutForward(hostX, hostY, hostNoise, hostState, p);
        Assert.That(outputs[0], Is.EqualTo(hostY.ToArray<float>()), "y");
        Assert.That(outputs[1], Is.EqualTo(hostNoise.ToArray<float>()), "noise");
        int[] after = outputs[2].Select(BitConverter.SingleToInt32Bits).ToArray();
        Assert.That(after, Is.EqualTo(new[] { state[0], state[1], 0, 1 }), "seed kept, call advanced from 2^32 - 1 to 2^32");
        Assert.That(after, Is.EqualTo(hostState.ToArray<int>()), "the CPU advances it alike");
        Assert.That(BitConverter.SingleToInt32Bits(outputs[3][0]), Is.Zero, "blocksDone back at 0");

        var keep = new bool[n];
        Philox.DropoutKeeps(seed, call, p, keep);
        Assert.That(outputs[1].Select(v => v != 0), Is.EqualTo(keep), "kept exactly where the host Philox keeps");
    }

    [Test]
    public void ReplayedLaunches_DrawAFreshMaskEachTime()
    {
        const int n = 4097;
        float[] x = Enumerable.Repeat(1f, n).ToArray();
        float[][] masks = Run(b =>
        {
            DevicePtr xs = b.Floats(x), y = b.Poisoned(n), rng = b.Ints([5, 0, 0, 0]), blocksDone = b.Ints([0]);
            var noises = new float[3][];
            for (int call = 0; call < 3; call++)
            {
                DevicePtr noise = b.Poisoned(n);
                Kernels.DropoutForward(Stream, xs, y, noise, n, Philox.DropoutKeepBelow(0.5), 2f, rng, blocksDone);
                noises[call] = b.Read(noise, n);
            }
            return noises;
        });
        for (int call = 0; call < 3; call++)
        {
            var keep = new bool[n];
            Philox.DropoutKeeps(5, (ulong)call, 0.5, keep);
            Assert.That(masks[call].Select(v => v != 0), Is.EqualTo(keep), $"call {call}");
        }
        Assert.That(masks[1], Is.Not.EqualTo(masks[0]));
        Assert.That(masks[2], Is.Not.EqualTo(masks[1]));
    }

    [TestCaseSource(typeof(KernelDeviceFixture), nameof(Sizes))]
    public void Multiply_MatchesTheCpuReference(int n)
    {
        Random random = Seeded(7300 + n);
        float[] x = Uniform(random, n), y = Uniform(random, n);
        float[] z = Run(b =>
        {
            DevicePtr xs = b.Floats(x, misaligned: n % 2 == 1), ys = b.Floats(y, misaligned: n % 2 == 1), zs = b.Poisoned(n, misaligned: n % 2 == 1);
            Kernels.Multiply(Stream, xs, ys, zs, n);
            return [b.Read(zs, n)];
        })[0];
        Assert.That(z, Is.EqualTo(x.Zip(y, (a, c) => a * c).ToArray()));
    }
}
