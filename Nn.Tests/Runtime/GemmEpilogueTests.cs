using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Runtime;

/// <summary>
/// The GEMM epilogues of the device seam (<see cref="GemmEpilogue"/>) against their definitions written out in float64,
/// on the emulator and, as its twin, on cuBLASLt, each in the layout training uses it in (cuBLASLt has no kernel for
/// some layouts, and only these matter): Bias and ReluBias in TN (the forward, x Wᵀ as column-major Wx), ReLU's backward
/// with the bias gradient in NN (the input gradient), the bias gradient from B in NT (the weight gradient). Inputs are
/// small whole numbers and the bias is a whole number and a half, so every product and sum is exact in float32, the
/// results must match exactly, and no pre-activation is exactly 0: there the emulator clears the mask bit (PyTorch's
/// ReLU has slope 0 at 0) and cuBLASLt may set it (CUTLASS's ReLU-aux epilogue writes z >= 0). Every output starts as
/// NaN (the mask as alternating bits), so an element an epilogue fails to write shows. m = 130 crosses a 128-bit column
/// of the ReLU mask, whose leading dimension is then 256. The mask's bits are compared where the seam defines them; only
/// the GEMMs that wrote a mask read it, so were a cuBLASLt to lay its bits out otherwise, the mask check alone would
/// fail and the backward would still be right.
/// </summary>
[TestFixture("emulator")]
[TestFixture("cuda", Category = "Gpu")]
public class GemmEpilogueTests(string deviceName)
{
    private const int M = 130, N = 5, K = 7;

    private IComputeDevice Open() => deviceName == "cuda" ? new CudaComputeDevice(Requirements.Gpu()) : Device();

    /// <summary>A GEMM's operands in one layout: A, B and the bias on the device, and their product in float64.</summary>
    private sealed class Operands
    {
        public Operands(IComputeDevice device, GemmOp transA, GemmOp transB, int seed)
        {
            (TransA, TransB) = (transA, transB);
            Lda = transA == GemmOp.None ? M : K;
            Ldb = transB == GemmOp.None ? K : N;
            A = RandomWholeFloats(Lda * (transA == GemmOp.None ? K : M), seed);
            B = RandomWholeFloats(Ldb * (transB == GemmOp.None ? N : K), seed + 1);
            Bias = RandomWholeFloats(M, seed + 2).Select(v => v + 0.5f).ToArray();
            (DeviceA, DeviceB, DeviceBias) = (Upload(device, A), Upload(device, B), Upload(device, Bias));
        }

        public GemmOp TransA { get; }
        public GemmOp TransB { get; }
        public int Lda { get; }
        public int Ldb { get; }
        public float[] A { get; }
        public float[] B { get; }
        public float[] Bias { get; }
        public DevicePtr DeviceA { get; }
        public DevicePtr DeviceB { get; }
        public DevicePtr DeviceBias { get; }

        public double Product(int i, int j)
        {
            double sum = 0;
            for (int p = 0; p < K; p++)
                sum += (double)(TransA == GemmOp.None ? A[i + p * Lda] : A[p + i * Lda]) * (TransB == GemmOp.None ? B[p + j * Ldb] : B[j + p * Ldb]);
            return sum;
        }

        public void Run(IComputeDevice device, IDeviceStream stream, DevicePtr c, GemmEpilogue epilogue, DevicePtr bias, DevicePtr mask, int maskLd) =>
            device.SgemmEpilogue(stream, TransA, TransB, M, N, K, 1f, DeviceA, Lda, DeviceB, Ldb, 0f, c, M, epilogue, bias, mask, maskLd);
    }

    private static float[] Read(IComputeDevice device, DevicePtr pointer, int count)
    {
        device.Synchronize(); // the stream's work first: a GPU's copy does not wait for it
        return Download(device, pointer, count);
    }

    private static bool Bit(uint[] words, int i, int j, int maskLd)
    {
        long bit = i + (long)j * maskLd;
        return (words[bit / 32] >> (int)(bit % 32) & 1) == 1;
    }

    [Test]
    public void TheForwardsEpilogues_InTN_AreTheirDefinitions()
    {
        using IComputeDevice device = Open();
        using IDeviceStream stream = device.CreateStream();
        var x = new Operands(device, GemmOp.Transpose, GemmOp.None, seed: 2100);
        Assert.That(Enumerable.Range(0, M * N).Count(e => x.Product(e % M, e / M) + x.Bias[e % M] > 0), Is.InRange(M * N / 4, 3 * M * N / 4),
            "both signs occur, so the ReLU and its mask are tested");

        DevicePtr c = Poisoned(device, stream, M * N);
        x.Run(device, stream, c, GemmEpilogue.Bias, x.DeviceBias, DevicePtr.Null, 0);
        float[] withBias = Read(device, c, M * N);

        int maskLd = GemmEpilogueArguments.ReluMaskLd(M);
        c = Poisoned(device, stream, M * N);
        DevicePtr mask = device.Allocate<uint>(maskLd * N / 32);
        device.Memset32(stream, mask, 0xAAAAAAAAu, maskLd * N / 32);
        x.Run(device, stream, c, GemmEpilogue.ReluBias, x.DeviceBias, mask, maskLd);
        float[] relu = Read(device, c, M * N);
        uint[] maskWords = new uint[maskLd * N / 32];
        device.Download<uint>(maskWords, mask);

        for (int j = 0; j < N; j++)
            for (int i = 0; i < M; i++)
            {
                double v = x.Product(i, j) + x.Bias[i];
                Assert.That(withBias[i + j * M], Is.EqualTo(v), $"Bias: C[{i},{j}]");
                Assert.That(relu[i + j * M], Is.EqualTo(Math.Max(v, 0)), $"ReluBias: C[{i},{j}]");
                Assert.That(Bit(maskWords, i, j, maskLd), Is.EqualTo(v > 0), $"ReluBias: mask bit of ({i},{j})");
            }
    }

    [Test]
    public void ReLUsBackwardWithTheBiasGradient_InNN_IsItsDefinition()
    {
        using IComputeDevice device = Open();
        using IDeviceStream stream = device.CreateStream();
        // The mask a forward wrote (TN), then the input gradient's GEMM (NN) standing for dLoss/dz.
        var forward = new Operands(device, GemmOp.Transpose, GemmOp.None, seed: 2110);
        int maskLd = GemmEpilogueArguments.ReluMaskLd(M);
        DevicePtr mask = device.Allocate<uint>(maskLd * N / 32);
        device.Memset32(stream, mask, 0xAAAAAAAAu, maskLd * N / 32);
        forward.Run(device, stream, Poisoned(device, stream, M * N), GemmEpilogue.ReluBias, forward.DeviceBias, mask, maskLd);

        var backward = new Operands(device, GemmOp.None, GemmOp.None, seed: 2120);
        DevicePtr c = Poisoned(device, stream, M * N), biasGrad = Poisoned(device, stream, M);
        backward.Run(device, stream, c, GemmEpilogue.ReluBackwardBiasGrad, biasGrad, mask, maskLd);
        float[] dz = Read(device, c, M * N), biasGot = Read(device, biasGrad, M);
        for (int i = 0; i < M; i++)
        {
            double sum = 0;
            for (int j = 0; j < N; j++)
            {
                double expected = forward.Product(i, j) + forward.Bias[i] > 0 ? backward.Product(i, j) : 0;
                Assert.That(dz[i + j * M], Is.EqualTo(expected), $"ReluBackwardBiasGrad: C[{i},{j}]");
                sum += expected;
            }
            Assert.That(biasGot[i], Is.EqualTo(sum), $"ReluBackwardBiasGrad: bias gradient [{i}]");
        }
    }

    [Test]
    public void TheBiasGradientFromB_InNT_IsItsDefinition()
    {
        using IComputeDevice device = Open();
        using IDeviceStream stream = device.CreateStream();
        var x = new Operands(device, GemmOp.None, GemmOp.Transpose, seed: 2130);
        // The bias gradient of a weight-gradient GEMM: column sums of op(B), written over NaN; C is the plain product.
        DevicePtr c = Poisoned(device, stream, M * N), columnSums = Poisoned(device, stream, N);
        x.Run(device, stream, c, GemmEpilogue.BiasGradFromB, columnSums, DevicePtr.Null, 0);
        float[] plain = Read(device, c, M * N), sums = Read(device, columnSums, N);
        for (int j = 0; j < N; j++)
        {
            double sum = 0;
            for (int p = 0; p < K; p++) sum += x.TransB == GemmOp.None ? x.B[p + j * x.Ldb] : x.B[j + p * x.Ldb];
            Assert.That(sums[j], Is.EqualTo(sum), $"BiasGradFromB: bias gradient [{j}]");
            for (int i = 0; i < M; i++) Assert.That(plain[i + j * M], Is.EqualTo(x.Product(i, j)), $"BiasGradFromB: C[{i},{j}]");
        }
    }

    [Test]
    public void AMissingOperand_ABadMaskWidthOrAMaskPastItsAllocation_IsRefusedNamingIt()
    {
        using IComputeDevice device = Open();
        using IDeviceStream stream = device.CreateStream();
        DevicePtr a = device.Allocate<float>(4 * 4), b = device.Allocate<float>(4 * 4), c = device.Allocate<float>(4 * 4), bias = device.Allocate<float>(4);
        DevicePtr smallMask = device.Allocate<uint>(2);
        void Run(GemmEpilogue epilogue, DevicePtr biasArgument, DevicePtr mask, int maskLd) =>
            device.SgemmEpilogue(stream, GemmOp.None, GemmOp.None, 4, 4, 4, 1f, a, 4, b, 4, 0f, c, 4, epilogue, biasArgument, mask, maskLd);

        Assert.That(() => Run(GemmEpilogue.Bias, DevicePtr.Null, DevicePtr.Null, 0), Throws.ArgumentException.With.Message.Contains("Bias epilogue needs a bias vector"));
        Assert.That(() => Run(GemmEpilogue.ReluBias, bias, DevicePtr.Null, 128), Throws.ArgumentException.With.Message.Contains("needs a ReLU mask"));
        Assert.That(() => Run(GemmEpilogue.ReluBias, bias, smallMask, 100), Throws.ArgumentException.With.Message.Contains("reluMaskLd=100 must be a multiple of 128"));
        // 128 bits by 4 columns is 16 words; 2 were allocated. Only the emulator knows every allocation's bounds.
        if (device is EmulatedComputeDevice)
            Assert.That(() => Run(GemmEpilogue.ReluBias, bias, smallMask, 128), Throws.ArgumentException.With.Message.Contains("ReluBias ReLU mask"));
    }
}
