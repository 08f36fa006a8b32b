using CudaNn.Data;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Data;

/// <summary>
/// DataLoader over a TensorDataset on every device: each batch is exactly the rows the epoch's order names (a copy, so
/// no tolerance), shuffled by the generator's permutation, with drop_last and float or integer targets.
/// </summary>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class DatasetLoaderTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private const int Rows = 23, Width = 5;

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void Batches_AreTheRowsOfTheEpochsOrder(bool shuffle, bool dropLast)
    {
        var random = Seeded.Generator(77);
        float[] features = Enumerable.Range(0, Rows * Width).Select(_ => (float)random.Uniform(-1, 1)).ToArray();
        float[] targets = Enumerable.Range(0, Rows * 2).Select(i => (float)i).ToArray();
        var data = new TensorDataset(features, [Rows, Width], targets, [Rows, 2]);
        using var loader = DataLoader.FromDataset(data, batchSize: 8, shuffle, new Generator(5), Device, DType, dropLast);
        int[] order = shuffle ? new Generator(5).Permutation(Rows) : Enumerable.Range(0, Rows).ToArray();

        Assert.That(loader.BatchCount, Is.EqualTo(dropLast ? 2 : 3));
        int seen = 0;
        foreach (var (x, y) in loader)
        {
            int size = x.Shape[0];
            Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { size, 2 }));
            double[] xs = ReferenceFiles.Values(x), ys = ReferenceFiles.Values(y);
            for (int b = 0; b < size; b++)
            {
                int row = order[seen + b];
                Assert.That(xs.AsSpan(b * Width, Width).ToArray(), Is.EqualTo(features.AsSpan(row * Width, Width).ToArray().Select(v => (double)v)), $"x row {b}");
                Assert.That(ys.AsSpan(b * 2, 2).ToArray(), Is.EqualTo(new double[] { 2 * row, 2 * row + 1 }), $"y row {b}");
            }
            seen += size;
        }
        Assert.That(seen, Is.EqualTo(dropLast ? 16 : Rows), "drop_last leaves out the last 7 rows");
    }

    [Test]
    public void IntegerLabels_StayInt32()
    {
        var data = new TensorDataset(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), [4, 3], [3, 1, 4, 1]);
        using var loader = DataLoader.FromDataset(data, batchSize: 4, device: Device, dtype: DType);
        var (x, y) = loader.First();
        Assert.That(y.DType, Is.EqualTo(DType.Int32));
        Assert.That(y.ToArray<int>(), Is.EqualTo(new[] { 3, 1, 4, 1 }));
        Assert.That(x.DType, Is.EqualTo(DType));
    }
}
