using CudaNn.Backends.Reference;
using CudaNn.Cuda;

namespace CudaNn.Tests.Kernels;

/// <summary>gather_rows against <see cref="ReferenceBackend{T}"/>: whole rows copied bit for bit, an index out of range filling its row with the missing word.</summary>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class GatherRowsKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    [TestCase(1, 1)]
    [TestCase(7, 33)]
    [TestCase(64, 784)]
    public void GatherRows_CopiesTheIndexedRows(int batch, int width)
    {
        const int count = 50;
        Random random = Seeded(7500 + width);
        float[] source = Uniform(random, count * width);
        int[] indices = Enumerable.Range(0, batch).Select(b => b == batch - 1 && batch > 1 ? count : random.Next(count)).ToArray();
        uint missing = BitConverter.SingleToUInt32Bits(float.NaN);

        float[] gathered = Run(b =>
        {
            DevicePtr src = b.Floats(source), idx = b.Ints(indices), dst = b.Poisoned(batch * width);
            Kernels.GatherRows(Stream, src, idx, dst, batch, width, count, missing);
            return [b.Read(dst, batch * width)];
        })[0];

        using var expected = Tensor.Zeros([batch, width]);
        ReferenceBackend<float>.Instance.GatherRows(Tensor.FromArray(source, [count, width]), Tensor.FromArray(indices, [batch]), expected);
        Assert.That(gathered.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.ToArray<float>().Select(BitConverter.SingleToInt32Bits)));
        if (batch > 1) Assert.That(gathered[^width..], Has.All.NaN, "index 50 of 50 rows: a NaN row");
    }
}
