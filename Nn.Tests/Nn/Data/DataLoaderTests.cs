using CudaNn.Data;

namespace CudaNn.Tests.Nn.Data;

public class DataLoaderTests
{
    // Five 3-pixel "images" whose bytes identify them: image i holds [i, 100 + i, 255].
    private static DataLoader Loader(int batchSize, bool shuffle, ulong seed = 0)
    {
        var images = new byte[5 * 3];
        for (int i = 0; i < 5; i++) (images[3 * i], images[3 * i + 1], images[3 * i + 2]) = ((byte)i, (byte)(100 + i), 255);
        var labels = new byte[] { 4, 3, 2, 1, 0 };
        return new DataLoader(Tensor.FromArray(images, [5, 3]), Tensor.FromArray(labels, [5]), batchSize, shuffle, new Generator(seed));
    }

    [Test]
    public void Batches_KeepTheLastPartialBatch_AndNormaliseAsTheSeedDoes()
    {
        using var loader = Loader(batchSize: 2, shuffle: false);
        var batches = loader.Select(b => (X: b.X.ToArray<float>(), Y: b.Y.ToArray<int>(), Shape: b.X.Shape.ToArray())).ToList();
        Assert.That(loader.BatchCount, Is.EqualTo(3));
        Assert.That(batches.Select(b => b.Shape), Is.EqualTo(new[] { new[] { 2, 3 }, new[] { 2, 3 }, new[] { 1, 3 } }));
        Assert.That(batches.SelectMany(b => b.Y), Is.EqualTo(new[] { 4, 3, 2, 1, 0 }));
        // (x / 255 - 0.5) / 0.5: byte 0 -> -1, byte 255 -> 1, byte 102 -> 102/127.5 - 1.
        Assert.That(batches[0].X[0], Is.EqualTo(-1f));
        Assert.That(batches[0].X[2], Is.EqualTo(1f));
        Assert.That(batches[1].X[1], Is.EqualTo(102 / 127.5 - 1).Within(1e-7));
    }

    [Test]
    public void Shuffle_DrawsANewPermutationEachEpoch_ReproduciblyFromTheSeed()
    {
        List<int> Epoch(DataLoader l) => l.SelectMany(b => b.X.ToArray<float>().Chunk(3).Select(px => (int)Math.Round((px[0] + 1) * 127.5))).ToList();
        using var a = Loader(batchSize: 2, shuffle: true, seed: 5);
        using var b = Loader(batchSize: 2, shuffle: true, seed: 5);
        var first = Epoch(a);
        var second = Epoch(a);
        Assert.That(first.Order(), Is.EqualTo(Enumerable.Range(0, 5)), "an epoch visits every sample once");
        Assert.That(second.Order(), Is.EqualTo(Enumerable.Range(0, 5)));
        Assert.That(Epoch(b), Is.EqualTo(first), "same seed, same order");
        Assert.That(Epoch(b), Is.EqualTo(second));
        Assert.That(first.SequenceEqual(second) && first.SequenceEqual(Enumerable.Range(0, 5)), Is.False, "the order changes");
    }

    [Test]
    public void Labels_FollowTheirImages_WhenShuffled()
    {
        using var loader = Loader(batchSize: 3, shuffle: true, seed: 9);
        foreach (var (x, y) in loader)
        {
            var pixels = x.ToArray<float>();
            var labels = y.ToArray<int>();
            for (int r = 0; r < labels.Length; r++)
                Assert.That(labels[r], Is.EqualTo(4 - (int)Math.Round((pixels[3 * r] + 1) * 127.5)));
        }
    }

    [Test]
    public void RejectsBadArguments()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DataLoader(Tensor.Zeros([4, 2], DType.UInt8), Tensor.Zeros([3], DType.UInt8), 2));
        Assert.That(ex!.Message, Does.Contain("4 images").And.Contain("[3]"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Tensor.Zeros([4, 2], DType.UInt8), Tensor.Zeros([4], DType.UInt8), 0));
        ex = Assert.Throws<ArgumentException>(() => new DataLoader(Tensor.Zeros([4, 2]), Tensor.Zeros([4], DType.UInt8), 2));
        Assert.That(ex!.Message, Does.Contain("uint8"));
    }
}
