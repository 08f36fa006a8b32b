using CudaNn.Backends.Cuda;
using CudaNn.Backends;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;
using CudaNn.Verification;

namespace CudaNn.Tests.Nn.Backends.Cuda;

[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class CudaBackendTests(string device) : CudaDeviceFixture(device)
{
    private static readonly MnistDataSet Train = MnistDataSet.LoadDefault(MnistSplit.Train);

    [Test]
    public void MatchesTheCpuReference_ForwardLossGradientsAdamAndTenSteps()
    {
        var rows = BackendComparison.Run(Device, Train);
        foreach (var row in rows)
            TestContext.Out.WriteLine($"{row.Tensor,-28} abs {row.MaxAbsError:E2} rel {row.MaxRelError:E2} tol {row.ToleranceText} {(row.Passed ? "pass" : "FAIL")}");
        Assert.That(rows, Has.Count.EqualTo(22));
        Assert.That(rows.Where(r => !r.Passed).Select(r => r.Tensor), Is.Empty);
    }

    [TestCase(Precision.TF32)]
    [TestCase(Precision.BF16)]
    public void ReducedPrecision_MatchesTheCpuReference_WithinItsDerivedTolerances(Precision precision)
    {
        var fp32 = BackendComparison.Run(Device, Train);
        Device.Precision = precision;
        IReadOnlyList<ComparisonRow> reduced;
        try
        {
            reduced = BackendComparison.Run(Device, Train);
        }
        finally
        {
            Device.Precision = Precision.FP32;
        }
        foreach (var row in reduced)
            TestContext.Out.WriteLine($"{row.Tensor,-28} abs {row.MaxAbsError:E2} rel {row.MaxRelError:E2} l2 {row.NormRelError:E2} tol {row.ToleranceText} {(row.Passed ? "pass" : "FAIL")}");
        Assert.That(reduced.Where(r => !r.Passed).Select(r => r.Tensor), Is.Empty);
        // The logits' error must be the precision's, well above what FP32 GEMMs leave: otherwise it was never applied.
        Assert.That(reduced[0].MaxRelError, Is.GreaterThan(10 * fp32[0].MaxRelError + 2 * 784 / 16777216.0), $"{precision} logits differ as {precision} does");
    }

    [Test]
    public void ChangingThePrecision_CapturesTheStepAgain_AndTheReplayComputesInTheNewPrecision()
    {
        float[] Run(bool graphs) => TrainChangingAfterTheFirstEpoch(graphs, seed: 8,
            change: () => Device.Precision = Precision.TF32, restore: () => Device.Precision = Precision.FP32,
            (trainer, captures, _) => Assert.That(trainer.GraphCaptures, Is.EqualTo(captures + 1), "the step is captured again in TF32"));
        Assert.That(Run(graphs: true), Is.EqualTo(Run(graphs: false)), "replays of the recaptured step compute what eager TF32 steps compute");
    }

    [Test]
    public void ChangingThePlan_CapturesTheStepAgain_AndTheReplayRunsTheNewPlan()
    {
        float[] Run(bool graphs) => TrainChangingAfterTheFirstEpoch(graphs, seed: 9,
            change: () => Device.Plan = StepPlan.Fused, restore: () => Device.Plan = StepPlan.Layers,
            (trainer, captures, nodes) =>
            {
                Assert.That(trainer.GraphCaptures, Is.EqualTo(captures + 1), "the step is captured again with the fused kernels");
                Assert.That(trainer.GraphNodesPerStep, Is.LessThan(nodes), "the fused plan's step has fewer operations");
            });
        Assert.That(Run(graphs: true), Is.EqualTo(Run(graphs: false)), "replays of the recaptured step compute what eager fused steps compute");
    }

    /// <summary>
    /// Two epochs of a small MLP with <paramref name="change"/> made between them (undone after); with graphs,
    /// <paramref name="check"/> sees the trainer, and its captures and operations a step before the change. The weights.
    /// </summary>
    private float[] TrainChangingAfterTheFirstEpoch(bool graphs, ulong seed, Action change, Action restore, Action<Trainer, int, int> check)
    {
        var g = new Generator(seed);
        using var model = new MlpSpec(784, [32], 10, CudaNn.Backends.Activation.ReLU).Create(g, Device);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        using var loader = DataLoader.FromMnist(Train.FirstImages(256), 64, shuffle: true, g, Device);
        using var trainer = new Trainer(model, optimizer, graphs);
        try
        {
            trainer.TrainEpoch(loader, 1);
            int captures = trainer.GraphCaptures, nodes = trainer.GraphNodesPerStep;
            change();
            trainer.TrainEpoch(loader, 2);
            if (graphs) check(trainer, captures, nodes);
        }
        finally
        {
            restore();
        }
        return model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray();
    }

    /// <summary>The MLP's other paths on this device: the fused kernels, or cuBLASLt's GEMM epilogues in each precision.</summary>
    public enum MlpPath { FusedKernels, GemmEpilogues }

    [TestCase(MlpPath.FusedKernels, Precision.FP32)]
    [TestCase(MlpPath.GemmEpilogues, Precision.FP32)]
    [TestCase(MlpPath.GemmEpilogues, Precision.TF32)]
    [TestCase(MlpPath.GemmEpilogues, Precision.BF16)]
    public void EveryMlpPath_MatchesTheCpuReference_ForwardLossGradientsAdamAndTenSteps(MlpPath path, Precision precision)
    {
        Device.Plan = path == MlpPath.FusedKernels ? StepPlan.Fused : StepPlan.Epilogues;
        Device.Precision = precision;
        try
        {
            var rows = BackendComparison.Run(Device, Train);
            foreach (var row in rows)
                TestContext.Out.WriteLine($"{row.Tensor,-28} abs {row.MaxAbsError:E2} rel {row.MaxRelError:E2} l2 {row.NormRelError:E2} tol {row.ToleranceText} {(row.Passed ? "pass" : "FAIL")}");
            Assert.That(rows, Has.Count.EqualTo(22));
            Assert.That(rows.Where(r => !r.Passed).Select(r => r.Tensor), Is.Empty);
        }
        finally
        {
            Device.Plan = StepPlan.Layers;
            Device.Precision = Precision.FP32;
        }
    }

    [Test]
    public void Training_IsBitIdenticalRunToRun_AndWithOrWithoutGraphs()
    {
        var first = TrainSteps(steps: 12, useGraphs: true);
        var second = TrainSteps(steps: 12, useGraphs: true);
        var eager = TrainSteps(steps: 12, useGraphs: false);
        Assert.That(second, Is.EqualTo(first), "same seed, same device: bit-identical weights");
        Assert.That(eager, Is.EqualTo(first), "a replayed graph computes exactly what the eager step computes");
    }

    [Test]
    public void TrainingAndDisposal_ReturnDeviceMemoryToItsStartLevel()
    {
        TrainSteps(steps: 3, useGraphs: true, hidden: 16, batch: 16); // workspaces reach their sizes once
        long before = Device.MemoryInUse;
        var weights = TrainSteps(steps: 1000, useGraphs: true, hidden: 16, batch: 16);
        Assert.That(weights.All(float.IsFinite));
        Assert.That(Device.MemoryInUse, Is.EqualTo(before), "bytes of device memory in use after 1,000 steps and disposal");
    }

    [Test]
    public void ATensorOnTheWrongDevice_NamesBothDevices()
    {
        using var layer = new Linear(3, 2, device: Device);
        using var x = Tensor.Zeros([1, 3]);
        var ex = Assert.Throws<ArgumentException>(() => layer.Forward(x));
        Assert.That(ex!.Message, Does.Contain("cpu").And.Contain(Device.Name));
    }

    [Test]
    public void ADisposedModel_ThrowsObjectDisposed()
    {
        var layer = new Linear(3, 2, device: Device);
        using var x = Tensor.Zeros([1, 3], device: Device);
        layer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => layer.Forward(x));
    }

    [Test]
    public void OutOfMemory_NamesWhatWasAllocatedAndWhere()
    {
        var ex = Assert.Throws<OutOfMemoryException>(() => Tensor.Empty([1 << 30, 1 << 12], device: Device));
        Assert.That(ex!.Message, Does.Contain("allocating").And.Contain("float32").And.Contain(Device.Name));
    }

    [Test]
    public void Float64_IsRefusedWithTheReason()
    {
        using var x = Tensor.Zeros([2], DType.Float64, Device);
        var ex = Assert.Throws<NotSupportedException>(() => _ = x.Backend);
        Assert.That(ex!.Message, Does.Contain("float32").And.Contain("float64"));
    }

    private float[] TrainSteps(int steps, bool useGraphs, int hidden = 64, int batch = 64)
    {
        var g = new Generator(5);
        using var model = new MlpSpec(784, [hidden], 10, CudaNn.Backends.Activation.ReLU).Create(g, Device);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        using var loader = DataLoader.FromMnist(Train, batch, shuffle: true, g, Device);
        using var trainer = new Trainer(model, optimizer, useGraphs);
        while (trainer.Steps < steps) trainer.TrainEpoch(loader, 1, maxSteps: steps);
        return model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray();
    }
}
