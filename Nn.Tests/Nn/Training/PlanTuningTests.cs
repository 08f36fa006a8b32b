using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.Nn.Backends.Cuda;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Training;

/// <summary>
/// <see cref="Trainer.TunePlan"/>: the fastest plan is chosen by the timer's figures, every plan that applies is
/// timed on the trainer's own step and one that does not is named with its reason, and, since the state a step changes
/// is put back, the training that follows is bit for bit the training of a run pinned to the chosen plan. The timer is
/// a table (the emulator's own times say nothing about a GPU's); it still runs every step it is asked to time, so the
/// restore is tested on real steps.
/// </summary>
[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class PlanTuningTests(string device) : CudaDeviceFixture(device)
{
    private const ulong Seed = 20261207;
    private const int Batch = 64;
    private static readonly MnistDataSet Train = MnistDataSet.LoadDefault(MnistSplit.Train).FirstImages(200);

    [TestCase(StepPlan.Fused, true)]
    [TestCase(StepPlan.Epilogues, true)]
    [TestCase(StepPlan.Fused, false)]
    public void TheFastestPlanIsChosen_AndTrainingThenEqualsTheRunPinnedToIt(StepPlan fastest, bool graphs)
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        var timer = new TableTimer(fastest == StepPlan.Fused
            ? new() { [StepPlan.Layers] = 90, [StepPlan.Epilogues] = 70, [StepPlan.Fused] = 50 }
            : new() { [StepPlan.Layers] = 90, [StepPlan.Epilogues] = 40, [StepPlan.Fused] = 60 });
        PlanChoice? choice = null;
        var tuned = Run(graphs, trainer =>
        {
            using var x = Tensor.FromArray(new float[Batch * 784], [Batch, 784], Device);
            using var y = Tensor.FromArray(new int[Batch], [Batch], Device);
            choice = trainer.TunePlan(x, y, new PlanTuning { Timer = timer, MaxReplays = 3 });
        });
        TestContext.Out.WriteLine($"chose {choice}");

        Assert.That(choice!.Plan, Is.EqualTo(fastest));
        Assert.That(tuned.Plan, Is.EqualTo(fastest), "the epochs ran the chosen plan");
        Assert.That(choice.FromCache, Is.False);
        Assert.That(timer.Timed, Is.EqualTo(new[] { StepPlan.Layers, StepPlan.Layers, StepPlan.Epilogues, StepPlan.Epilogues, StepPlan.Fused, StepPlan.Fused }),
            "each plan timed once to estimate and once for the figure, in order");
        Assert.That(choice.Timings.Select(t => t.MicrosecondsPerStep), Is.EqualTo(timer.Table.OrderBy(t => t.Key).Select(t => (double?)t.Value)));
        Assert.That(choice.Timings.Select(t => t.Replays), Is.All.EqualTo(3), "the budget allows more than MaxReplays");
        Assert.That(timer.StepsRun, Is.EqualTo(3 * (1 + 3)));
        Assert.That(choice.ToString(), Does.StartWith($"{fastest.ToString().ToLowerInvariant()}: "));

        Device.Plan = fastest;
        RunResult pinned;
        try
        {
            pinned = Run(graphs, _ => { });
        }
        finally
        {
            Device.Plan = StepPlan.Layers;
        }
        Assert.That(tuned.Steps, Is.EqualTo(pinned.Steps));
        Assert.That(tuned.Losses, Is.EqualTo(pinned.Losses), "epoch losses, bit for bit");
        Assert.That(tuned.Weights, Is.EqualTo(pinned.Weights), "weights, bit for bit");
        Assert.That(tuned.OptimizerState, Is.EqualTo(pinned.OptimizerState), "Adam's moments, bit for bit");
        Assert.That(tuned.ParameterSteps, Is.EqualTo(pinned.ParameterSteps));
        Assert.That(tuned.DropoutCalls, Is.EqualTo(pinned.DropoutCalls), "the tuning's masks were given back");
    }

    [Test]
    public void APlanThatDoesNotApply_IsNotTimed_AndItsReasonIsGiven()
    {
        var timer = new TableTimer(new() { [StepPlan.Layers] = 90, [StepPlan.Epilogues] = 70, [StepPlan.Fused] = 10 });
        using var model = new MlpSpec(784, [200], 10, Activation.ReLU).Create(new Generator(Seed), Device);
        using var optimizer = new Adam(model.Parameters(), 1e-3);
        using var trainer = new Trainer(model, optimizer);
        using var x = Tensor.Zeros([Batch, 784], device: Device);
        using var y = Tensor.Zeros([Batch], DType.Int32, Device);
        try
        {
            var choice = trainer.TunePlan(x, y, new PlanTuning { Timer = timer, MaxReplays = 2 });
            TestContext.Out.WriteLine(choice);
            Assert.That(choice.Plan, Is.EqualTo(StepPlan.Epilogues), "the fused kernels are fastest in the table but take at most 128 outputs");
            var fused = choice.Timings.Single(t => t.Plan == StepPlan.Fused);
            Assert.That(fused.MicrosecondsPerStep, Is.Null);
            Assert.That(fused.WhyNot, Does.Contain("128").And.Contain("200"));
            Assert.That(timer.Timed, Does.Not.Contain(StepPlan.Fused));
            Assert.That(choice.ToString(), Does.Contain("fused does not apply: "));
            Assert.That(optimizer.StepCount, Is.Zero, "the tuning's steps were taken back");
        }
        finally
        {
            Device.Plan = StepPlan.Layers;
        }
    }

    [Test]
    public void ADecisionInTheCache_IsTakenWithoutTiming_AndADamagedCacheIsRewritten()
    {
        using var directory = new TempDirectory();
        string file = directory.File("plans.json");
        File.WriteAllText(file, "{ not json");
        var table = new Dictionary<StepPlan, double> { [StepPlan.Layers] = 30, [StepPlan.Epilogues] = 20, [StepPlan.Fused] = 25 };
        try
        {
            var first = new TableTimer(table);
            var decided = Tune(first, file, Batch);
            Assert.That(decided.Plan, Is.EqualTo(StepPlan.Epilogues));
            Assert.That(decided.FromCache, Is.False, "a damaged cache is no cache");
            Assert.That(File.ReadAllText(file), Does.Contain("\"plan\": \"epilogues\""), "written anew");

            var second = new TableTimer(table);
            var remembered = Tune(second, file, Batch);
            Assert.That(remembered.FromCache, Is.True);
            Assert.That(remembered.Plan, Is.EqualTo(StepPlan.Epilogues));
            Assert.That(Device.Plan, Is.EqualTo(StepPlan.Epilogues), "set on the device");
            Assert.That(second.StepsRun, Is.Zero, "nothing timed");
            Assert.That(remembered.Timings.Select(t => t.MicrosecondsPerStep), Is.EqualTo(decided.Timings.Select(t => t.MicrosecondsPerStep)), "the recorded timings");
            Assert.That(remembered.ToString(), Does.EndWith("as tuned by an earlier run"));

            var otherBatch = new TableTimer(table);
            Assert.That(Tune(otherBatch, file, Batch / 2).FromCache, Is.False, "another batch size is another decision");
            Assert.That(otherBatch.StepsRun, Is.GreaterThan(0));
            Device.Precision = Precision.TF32;
            var otherPrecision = new TableTimer(table);
            Assert.That(Tune(otherPrecision, file, Batch).FromCache, Is.False, "another precision is another decision");
            Assert.That(otherPrecision.StepsRun, Is.GreaterThan(0));
        }
        finally
        {
            Device.Plan = StepPlan.Layers;
            Device.Precision = Precision.FP32;
        }
    }

    [Test]
    public void TheDefaultCache_IsPlansJsonBesideTheCompiledKernels() =>
        Assert.That(PlanTuning.DefaultCacheFile, Is.EqualTo(Path.Combine(Path.GetDirectoryName(CudaNn.Kernels.KernelCacheDirectory.Default)!, "plans.json")));

    [Test]
    public void OnTheCpu_LayersIsTheOnlyPlan_AndNothingIsTimed()
    {
        var timer = new TableTimer(new() { [StepPlan.Layers] = 1 });
        using var model = MlpSpec.Default.Create(new Generator(Seed), CudaNn.Device.Cpu);
        using var optimizer = new Adam(model.Parameters(), 1e-3);
        using var trainer = new Trainer(model, optimizer);
        using var x = Tensor.Zeros([4, 784]);
        using var y = Tensor.Zeros([4], DType.Int32);
        var choice = trainer.TunePlan(x, y, new PlanTuning { Timer = timer });
        Assert.That(choice.Plan, Is.EqualTo(StepPlan.Layers));
        Assert.That(timer.StepsRun, Is.Zero);
        Assert.That(choice.ToString(), Is.EqualTo("layers: the only plan that applies"));
    }

    private PlanChoice Tune(TableTimer timer, string cacheFile, int batch)
    {
        using var model = new MlpSpec(784, [32], 10, Activation.ReLU).Create(new Generator(Seed), Device);
        using var optimizer = new Adam(model.Parameters(), 1e-3);
        using var trainer = new Trainer(model, optimizer);
        using var x = Tensor.Zeros([batch, 784], device: Device);
        using var y = Tensor.Zeros([batch], DType.Int32, Device);
        return trainer.TunePlan(x, y, new PlanTuning { Timer = timer, MaxReplays = 2, CacheFile = cacheFile });
    }

    private sealed record RunResult(StepPlan? Plan, long Steps, double[] Losses, float[] Weights, float[] OptimizerState, long[] ParameterSteps, ulong[] DropoutCalls);

    /// <summary>A 784-64-32-10 MLP with dropout, <paramref name="before"/> called on the fresh trainer, then two epochs of 200 digits.</summary>
    private RunResult Run(bool graphs, Action<Trainer> before)
    {
        var generator = new Generator(Seed);
        using var model = new MlpSpec(784, [64, 32], 10, Activation.ReLU) { Dropout = 0.1 }.Create(generator, Device);
        using var optimizer = new Adam(model.Parameters(), 1e-3);
        using var trainer = new Trainer(model, optimizer, graphs);
        using var loader = DataLoader.FromMnist(Train, Batch, shuffle: true, generator, Device);
        before(trainer);
        var epochs = Enumerable.Range(1, 2).Select(e => trainer.TrainEpoch(loader, e)).ToList();
        return new RunResult(epochs[^1].Plan, trainer.Steps, epochs.Select(e => e.TrainLoss).ToArray(),
            model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray(),
            optimizer.StateBuffers().OrderBy(s => s.Key).SelectMany(s => s.Value.ToArray<float>()).ToArray(),
            optimizer.ParameterStepCounts(),
            model.NamedModules().Select(m => m.Module).OfType<Dropout>().Select(d => d.Calls).ToArray());
    }
}
