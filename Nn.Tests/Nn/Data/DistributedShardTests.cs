using CudaNn.Data;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Data;

/// <summary>
/// <see cref="DistributedShard"/> against PyTorch's DistributedSampler (distributed_sampler.safetensors), and the
/// unpadded shares evaluation uses, and a sharded <see cref="DataLoader"/> yielding exactly its rank's digits.
/// </summary>
public class DistributedShardTests
{
    [TestCase(10, 3)]
    [TestCase(7, 4)]
    [TestCase(2, 3)]
    [TestCase(12, 4)]
    [TestCase(5, 1)]
    [TestCase(1, 5)]
    public void PaddedShares_AreDistributedSamplersIndices(int count, int replicas)
    {
        var file = ReferenceFiles.Load("distributed_sampler.safetensors");
        int[] identity = Enumerable.Range(0, count).ToArray();
        for (int rank = 0; rank < replicas; rank++)
        {
            int[] expected = file.GetInt64s($"{count}-{replicas}.rank{rank}").Select(v => (int)v).ToArray();
            var shard = new DistributedShard(rank, replicas);
            Assert.That(shard.Select(identity), Is.EqualTo(expected), $"rank {rank} of {replicas} over {count}");
            Assert.That(shard.Length(count), Is.EqualTo(expected.Length));
        }
    }

    [TestCase(10, 3)]
    [TestCase(2, 3)]
    [TestCase(2000, 7)]
    public void UnpaddedShares_CountEverySampleOnce(int count, int replicas)
    {
        int[] order = new Generator(5).Permutation(count);
        var all = Enumerable.Range(0, replicas).SelectMany(r => new DistributedShard(r, replicas, padToEqual: false).Select(order)).ToList();
        Assert.That(all, Is.EquivalentTo(order));
    }

    [Test]
    public void ARankOutsideTheJob_IsRefused()
    {
        Assert.That(() => new DistributedShard(3, 3), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("a rank of 3"));
        Assert.That(() => new DistributedShard(0, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ShardedLoaders_TogetherYieldTheUnshardedLoadersBatches()
    {
        var data = MnistDataSet.LoadDefault(MnistSplit.Test);
        const int ranks = 2, batch = 16;
        using var whole = DataLoader.FromMnist(data, ranks * batch, shuffle: true, new Generator(9));
        var loaders = Enumerable.Range(0, ranks)
            .Select(r => DataLoader.FromMnist(data, batch, shuffle: true, new Generator(9), shard: new DistributedShard(r, ranks))).ToList();
        try
        {
            Assert.That(loaders[0].BatchCount, Is.EqualTo(whole.BatchCount));
            var wholeBatches = whole.Select(b => b.Y.ToArray<int>()).ToList();
            var rankBatches = loaders.Select(l => l.Select(b => b.Y.ToArray<int>()).ToList()).ToList();
            for (int k = 0; k < wholeBatches.Count; k++)
            {
                // Rank r's batch k is the whole batch's positions r, r + N, ...: compare the labels position by position.
                var interleaved = Enumerable.Range(0, wholeBatches[k].Length).Select(i => rankBatches[i % ranks][k][i / ranks]).ToArray();
                Assert.That(interleaved, Is.EqualTo(wholeBatches[k]), $"batch {k}");
            }
        }
        finally
        {
            loaders.ForEach(l => l.Dispose());
        }
    }
}
