using CudaNn.Backends;
using CudaNn.Data;
using CudaNn.Distributed;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Distributed;

/// <summary>
/// Data-parallel training through <see cref="Trainer"/> with ranks that are threads (<see cref="ThreadedProcessGroup"/>),
/// in float64 on the CPU: N ranks with batch B against one process with batch N·B over the same shuffled order.
/// </summary>
/// <remarks>
/// Tolerance, derived: the ranks' batches together are the single process's batch (see <see cref="DistributedShard"/>),
/// so the only difference is the order of the sums. A gradient element is a sum of N·B products; summed as N partial
/// sums of B it differs by at most about N·B·ε·Σ|terms| (ε = 2⁻⁵³ ≈ 1.1e-16), i.e. ~1e-14 of the gradient's scale
/// here. Adam turns a gradient difference δ into a step difference of at most lr·δ/(√v̂ + eps) ≲ lr·1e-14/1e-8 for the
/// smallest gradients, and the weights carry it through 3 epochs × 12 steps; so 1e-12 absolute, far above rounding
/// (the measured difference is printed: 5e-16 for 2 ranks, 7e-15 for 3) and far below a wrong shard, a rank that kept
/// its own initial weights, or gradients summed instead of averaged (3.5e-3 measured, though Adam is nearly scale-free).
/// </remarks>
public class DataParallelTrainingTests
{
    private const ulong Seed = 20261201;
    private const int Samples = 600;
    private const int RankBatch = 25;
    private const int Epochs = 3;
    private const double WeightTolerance = 1e-12;
    private static readonly MnistDataSet Train = MnistDataSet.LoadDefault(MnistSplit.Train).FirstImages(Samples);
    private static readonly MnistDataSet Test = MnistDataSet.LoadDefault(MnistSplit.Test).FirstImages(301);

    [TestCase(2)]
    [TestCase(3)]
    public void RanksWithBatchB_TrainLikeOneProcessWithBatchNTimesB(int ranks)
    {
        TestContext.Out.WriteLine($"seed {Seed}, {ranks} ranks x batch {RankBatch} against 1 x {ranks * RankBatch}");
        var single = RunAlone(ranks * RankBatch);
        var parallel = RunRanks(ranks);

        for (int r = 0; r < ranks; r++)
        {
            Assert.That(parallel[r].Weights, Is.EqualTo(parallel[0].Weights), $"rank {r} ended with other weights than rank 0");
            Assert.That(parallel[r].Losses, Is.EqualTo(parallel[0].Losses), $"rank {r} reported other epoch losses");
        }
        double worst = MaxDifference(single.Weights, parallel[0].Weights);
        TestContext.Out.WriteLine($"largest weight difference from the single process: {worst:E2} (tolerance {WeightTolerance:E0})");
        Assert.That(worst, Is.LessThanOrEqualTo(WeightTolerance));
        Assert.That(parallel[0].Losses, Is.EqualTo(single.Losses).Within(1e-12).Percent, "epoch losses");
        Assert.That(parallel[0].TestCorrect, Is.EqualTo(single.TestCorrect), "the sharded evaluation counts every test digit once");
        Assert.That(parallel[0].TestCount, Is.EqualTo(Test.Count));
        Assert.That(parallel[0].Steps, Is.EqualTo(single.Steps));
    }

    [Test]
    public void TheSameJobTwice_IsBitIdentical()
    {
        var first = RunRanks(2);
        var second = RunRanks(2);
        Assert.That(second[0].Weights, Is.EqualTo(first[0].Weights));
        Assert.That(second[1].Losses, Is.EqualTo(first[1].Losses));
    }

    [Test]
    public void EveryRankStartsFromRankZerosWeights()
    {
        var groups = ThreadedProcessGroup.Create(2);
        var starts = new double[2][];
        RunOnThreads(2, r =>
        {
            // Different seeds: without the broadcast the ranks would start apart.
            using var model = Mlp.Create(784, [16], 10, Activation.ReLU, new Generator(Seed + (ulong)r), Device.Cpu);
            using var optimizer = new Adam(model.Parameters(), 1e-3);
            using var trainer = new Trainer(model, optimizer, processGroup: groups[r]);
            starts[r] = Flat(model);
        });
        using var expected = Mlp.Create(784, [16], 10, Activation.ReLU, new Generator(Seed), Device.Cpu);
        Assert.That(starts[0], Is.EqualTo(Flat(expected)));
        Assert.That(starts[1], Is.EqualTo(starts[0]));
    }

    [Test]
    public void ARankThatNeverJoins_TimesOutTheOthersWithAClearError()
    {
        var groups = ThreadedProcessGroup.Create(2, TimeSpan.FromMilliseconds(200));
        using var tensor = Tensor.FromArray(new double[] { 1, 2, 3 }, [3]);
        var error = Assert.Throws<CollectiveTimeoutException>(() => groups[0].AllReduce(tensor));
        Assert.That(error!.Message, Does.Contain("rank 0 of 2").And.Contain("all-reduce").And.Contain("did not complete within 0.2 s"));
    }

    [Test]
    public void ARootThatIsNoRank_IsRefused()
    {
        var groups = ThreadedProcessGroup.Create(1);
        using var tensor = Tensor.FromArray(new float[] { 1 }, [1]);
        Assert.That(() => groups[0].Broadcast(tensor, root: 1), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("a rank of 1"));
    }

    private sealed record RunResult(double[] Weights, double[] Losses, long TestCorrect, long TestCount, long Steps);

    private static RunResult RunAlone(int batch) => Run(batch, group: null);

    private static RunResult[] RunRanks(int ranks)
    {
        var groups = ThreadedProcessGroup.Create(ranks, TimeSpan.FromSeconds(60));
        var results = new RunResult[ranks];
        RunOnThreads(ranks, r => results[r] = Run(RankBatch, groups[r]));
        return results;
    }

    private static RunResult Run(int batch, ProcessGroup? group)
    {
        var generator = new Generator(Seed);
        using var model = Mlp.Create(784, [32, 16], 10, Activation.ReLU, generator, Device.Cpu).To(DType.Float64);
        using var optimizer = new Adam(model.Parameters(), 2e-3);
        DistributedShard? trainShard = group is null ? null : new DistributedShard(group.Rank, group.WorldSize);
        DistributedShard? testShard = group is null ? null : new DistributedShard(group.Rank, group.WorldSize, padToEqual: false);
        using var train = DataLoader.FromMnist(Train, batch, shuffle: true, generator, Device.Cpu, DType.Float64, shard: trainShard);
        using var test = DataLoader.FromMnist(Test, 64, device: Device.Cpu, dtype: DType.Float64, shard: testShard);
        using var trainer = new Trainer(model, optimizer, processGroup: group);
        var losses = new List<double>();
        EvaluationResult? eval = null;
        for (int epoch = 1; epoch <= Epochs; epoch++)
        {
            losses.Add(trainer.TrainEpoch(train, epoch).TrainLoss);
            eval = trainer.Evaluate(test);
        }
        return new RunResult(Flat(model), losses.ToArray(), eval!.Correct, eval.Count, trainer.Steps);
    }

    private static void RunOnThreads(int ranks, Action<int> body)
    {
        var failures = new Exception?[ranks];
        var threads = Enumerable.Range(0, ranks).Select(r => new Thread(() =>
        {
            try { body(r); }
            catch (Exception e) { failures[r] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var failure in failures)
            if (failure is not null) throw new AggregateException(failure);
    }

    private static double[] Flat(Module model) =>
        model.Parameters().SelectMany(p => p.Value.DType == DType.Float64 ? p.Value.ToArray<double>() : p.Value.ToArray<float>().Select(v => (double)v)).ToArray();

    private static double MaxDifference(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
