using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Data;
using CudaNn.Distributed;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Distributed;

/// <summary>
/// The NCCL path on one GPU (the GPU check's smoke test of the bindings): a group of one rank whose collectives leave
/// their tensors as they are, and a Trainer that averages its gradients through NCCL inside the captured CUDA graph
/// and so trains to exactly the weights it reaches alone (an average over one rank is the gradient itself).
/// </summary>
[Category("Gpu")]
public class NcclProcessGroupTests
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Structure", "NUnit1032",
        Justification = "CudaDevices hands out one device per process; it outlives every fixture.")]
    private CudaDevice _gpu = null!;

    [OneTimeSetUp]
    public void OpenGpuAndNccl()
    {
        Requirements.Gpu();
        if (!NcclCommunicator.LibraryStatus.IsLoaded)
            Requirements.SkipOrFail(Requirements.RequireGpu, $"NCCL is not available: {NcclCommunicator.LibraryStatus.FailureReason}");
        _gpu = CudaDevices.Cuda();
        TestContext.Out.WriteLine($"NCCL {NcclCommunicator.Version} from {NcclCommunicator.LibraryStatus.LoadedFrom} on {_gpu.Description}");
    }

    [TestCase(ReduceOp.Sum)]
    [TestCase(ReduceOp.Average)]
    [TestCase(ReduceOp.Max)]
    public void OneRank_AllReduceAndBroadcast_LeaveTheValues(ReduceOp op)
    {
        using var group = NcclProcessGroup.Single(_gpu);
        float[] values = Enumerable.Range(0, 1000).Select(i => MathF.Sin(i) * 1e3f).ToArray();
        using var tensor = Tensor.FromArray(values, [values.Length], _gpu);
        group.AllReduce(tensor, op);
        group.Broadcast(tensor, root: 0);
        group.Synchronize();
        Assert.That(tensor.ToArray<float>(), Is.EqualTo(values));
        Assert.That(group.AllReduce([1.5, 2], op), Is.EqualTo(new[] { 1.5, 2 }));
    }

    [Test]
    public void OneRank_TrainsInsideTheGraph_ToTheWeightsItReachesAlone()
    {
        var data = MnistDataSet.LoadDefault(MnistSplit.Train);
        var alone = Train(data, group: null, out int nodesAlone);
        using var group = NcclProcessGroup.Single(_gpu);
        var together = Train(data, group, out int nodesWithNccl);
        TestContext.Out.WriteLine($"graph nodes per step: {nodesAlone} alone, {nodesWithNccl} with the NCCL all-reduce");
        Assert.That(together, Is.EqualTo(alone));
    }

    private float[] Train(MnistDataSet data, ProcessGroup? group, out int nodes)
    {
        var generator = new Generator(11);
        using var model = Mlp.Create(784, [128, 64], 10, Activation.ReLU, generator, _gpu);
        using var optimizer = new Adam(model.Parameters(), 1e-3);
        using var loader = DataLoader.FromMnist(data, 64, shuffle: true, generator, _gpu,
            shard: group is null ? null : new DistributedShard(group.Rank, group.WorldSize));
        using var trainer = new Trainer(model, optimizer, useGraphs: true, processGroup: group);
        trainer.TrainEpoch(loader, 1);
        Assert.That(trainer.GraphCaptures, Is.GreaterThan(0), "the step was captured as a graph");
        nodes = trainer.GraphNodesPerStep;
        return model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray();
    }
}
