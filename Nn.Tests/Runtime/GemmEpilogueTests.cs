using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Runtime;

/// <summary>
/// The GEMM epilogues of the device seam (<see cref="GemmEpilogue"/>) against their definitions written out in float64,
/// on the emulator and, as its twin, on cuBLASLt. Inputs are small whole numbers, so every product and sum is exact in
/// float32 and the results must match exactly; every output starts as NaN (the mask as alternating bits), so an element
/// an epilogue fails to write shows. m = 130 crosses a 128-bit column of the ReLU mask, whose leading dimension is then
/// 256. The mask's bits are compared where the seam defines them; only the GEMMs that wrote a mask read it, so were a
/// cuBLASLt to lay its bits out otherwise, the mask check alone would fail and the backward would still be right.
/// </summary>
[TestFixture("emulator")]
[TestFixture("cuda", Category = "Gpu")]
public class GemmEpilogueTests(string deviceName)
{
    private const int M = 130, N = 5, K = 7;

    private IComputeDevice Open() => deviceName == "cuda" ? new CudaComputeDevice(Requirements.Gpu()) : Device();

    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(false, false)]
    public void EveryEpilogue_IsItsDefinition_Exactly(bool transposeA, bool transposeB)
    {
        GemmOp transA = transposeA ? GemmOp.Transpose : GemmOp.None, transB = transposeB ? GemmOp.Transpose : GemmOp.None;
        using IComputeDevice device = Open();
        using IDeviceStream stream = device.CreateStream();
        int lda = transA == GemmOp.None ? M : K, ldb = transB == GemmOp.None ? K : N, maskLd = GemmEpilogueArguments.ReluMaskLd(M);
        float[] a = RandomWholeFloats(lda * (transA == GemmOp.None ? K : M), seed: 2100), b = RandomWholeFloats(ldb * (transB == GemmOp.None ? N : K), seed: 2101);
        float[] bias = RandomWholeFloats(M, seed: 2102);
        DevicePtr da = Upload(device, a), db = Upload(device, b), dbias = Upload(device, bias);
        float[] Read(DevicePtr pointer, int count)
        {
            device.Synchronize(); // the stream's work first: a GPU's copy does not wait for it
            return Download(device, pointer, count);
        }
        double Product(int i, int j)
        {
            double sum = 0;
            for (int p = 0; p < K; p++)
                sum += (double)(transA == GemmOp.None ? a[i + p * lda] : a[p + i * lda]) * (transB == GemmOp.None ? b[p + j * ldb] : b[j + p * ldb]);
            return sum;
        }
        Assert.That(Enumerable.Range(0, M * N).Count(e => Product(e % M, e / M) + bias[e % M] > 0), Is.InRange(M * N / 4, 3 * M * N / 4),
            "both signs occur, so the ReLU and its mask are tested");

        DevicePtr c = Poisoned(device, stream, M * N);
        device.SgemmEpilogue(stream, transA, transB, M, N, K, 1f, da, lda, db, ldb, 0f, c, M, GemmEpilogue.Bias, dbias, DevicePtr.Null, 0);
        float[] withBias = Read(c, M * N);

        c = Poisoned(device, stream, M * N);
        DevicePtr mask = device.Allocate<uint>(maskLd * N / 32);
        device.Memset32(stream, mask, 0xAAAAAAAAu, maskLd * N / 32);
        device.SgemmEpilogue(stream, transA, transB, M, N, K, 1f, da, lda, db, ldb, 0f, c, M, GemmEpilogue.ReluBias, dbias, mask, maskLd);
        float[] relu = Read(c, M * N);
        uint[] maskWords = new uint[maskLd * N / 32];
        device.Synchronize();
        device.Download<uint>(maskWords, mask);

        for (int j = 0; j < N; j++)
            for (int i = 0; i < M; i++)
            {
                double v = Product(i, j) + bias[i];
                Assert.That(withBias[i + j * M], Is.EqualTo(v), $"Bias: C[{i},{j}]");
                Assert.That(relu[i + j * M], Is.EqualTo(Math.Max(v, 0)), $"ReluBias: C[{i},{j}]");
                long bit = i + (long)j * maskLd;
                Assert.That((maskWords[bit / 32] >> (int)(bit % 32) & 1) == 1, Is.EqualTo(v > 0), $"ReluBias: mask bit of ({i},{j})");
            }

        // ReLU's backward from that mask, with this product standing for the gradient, and the bias gradient it sums.
        c = Poisoned(device, stream, M * N);
        DevicePtr biasGrad = Poisoned(device, stream, M);
        device.SgemmEpilogue(stream, transA, transB, M, N, K, 1f, da, lda, db, ldb, 0f, c, M, GemmEpilogue.ReluBackwardBiasGrad, biasGrad, mask, maskLd);
        float[] dz = Read(c, M * N), dbiasGot = Read(biasGrad, M);
        for (int i = 0; i < M; i++)
        {
            double sum = 0;
            for (int j = 0; j < N; j++)
            {
                double expected = Product(i, j) + bias[i] > 0 ? Product(i, j) : 0;
                Assert.That(dz[i + j * M], Is.EqualTo(expected), $"ReluBackwardBiasGrad: C[{i},{j}]");
                sum += expected;
            }
            Assert.That(dbiasGot[i], Is.EqualTo(sum), $"ReluBackwardBiasGrad: bias gradient [{i}]");
        }

        // The bias gradient of a weight-gradient GEMM: column sums of op(B), written over NaN; C is the plain product.
        c = Poisoned(device, stream, M * N);
        DevicePtr columnSums = Poisoned(device, stream, N);
        device.SgemmEpilogue(stream, transA, transB, M, N, K, 1f, da, lda, db, ldb, 0f, c, M, GemmEpilogue.BiasGradFromB, columnSums, DevicePtr.Null, 0);
        float[] plain = Read(c, M * N), sums = Read(columnSums, N);
        for (int j = 0; j < N; j++)
        {
            double sum = 0;
            for (int p = 0; p < K; p++) sum += transB == GemmOp.None ? b[p + j * ldb] : b[j + p * ldb];
            Assert.That(sums[j], Is.EqualTo(sum), $"BiasGradFromB: bias gradient [{j}]");
            for (int i = 0; i < M; i++) Assert.That(plain[i + j * M], Is.EqualTo(Product(i, j)), $"BiasGradFromB: C[{i},{j}]");
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
