using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Optim;

/// <summary>
/// Every learning-rate schedule against PyTorch 1.13: Nn.Tests/References/schedules.safetensors (make_references.py)
/// holds, per schedule below and by its name, the rate right after construction and after each of 40 steps, from lr 0.1.
/// </summary>
/// <remarks>
/// Tolerance: 1e-14 relative. The rates come from the same float64 recurrences as PyTorch's, in its order; only the C
/// library's cos and pow may round differently by an ulp (~1e-16), which 40 chained steps can grow to a few 1e-15.
/// A wrong branch (a missed milestone, a restart taken one epoch late) is off by a whole factor.
/// </remarks>
public class LRSchedulerTests
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("schedules.safetensors");

    /// <summary>The schedules of make_references.py's SCHEDULES, by the same names and with the same settings.</summary>
    internal static LRScheduler Create(string name, Optimizer o) => name switch
    {
        "step" => new StepLR(o, stepSize: 3, gamma: 0.5),
        "multistep" => new MultiStepLR(o, [2, 5, 5, 9], gamma: 0.3),
        "exponential" => new ExponentialLR(o, gamma: 0.9),
        "cosine" => new CosineAnnealingLR(o, tMax: 7, etaMin: 0.001),
        "cosine-to-zero" => new CosineAnnealingLR(o, tMax: 10),
        "linear" => new LinearLR(o, startFactor: 0.1, endFactor: 1.0, totalIters: 6),
        "linear-down" => new LinearLR(o, startFactor: 1.0, endFactor: 0.2, totalIters: 8),
        "constant" => new ConstantLR(o, factor: 0.25, totalIters: 4),
        "warmup-cosine" => new SequentialLR(o, [new LinearLR(o, startFactor: 0.1, totalIters: 5), new CosineAnnealingLR(o, tMax: 20, etaMin: 1e-4)], [5]),
        "constant-exponential-step" => new SequentialLR(o,
            [new ConstantLR(o, factor: 0.5, totalIters: 3), new ExponentialLR(o, gamma: 0.8), new StepLR(o, stepSize: 4, gamma: 0.5)], [4, 10]),
        _ => throw new ArgumentException($"no schedule named '{name}'"),
    };

    private static IEnumerable<string> Names() => Reference.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(Names))]
    public void FortySteps_MatchPyTorch(string name)
    {
        double[] expected = Reference.Get(name).ToDoubleArray();
        using var optimizer = NewOptimizer();
        var schedule = Create(name, optimizer);
        TestContext.Out.WriteLine(schedule);

        var rates = new List<double> { optimizer.LearningRate };
        Assert.That(schedule.LastLearningRate, Is.EqualTo(optimizer.LearningRate), "the rate construction set");
        for (int epoch = 1; epoch <= 40; epoch++)
        {
            schedule.Step();
            rates.Add(optimizer.LearningRate);
            Assert.That(schedule.LastLearningRate, Is.EqualTo(optimizer.LearningRate), $"LastLearningRate after step {epoch}");
        }

        Assert.That(schedule.LastEpoch, Is.EqualTo(40));
        Assert.That(optimizer.InitialLearningRate, Is.EqualTo(0.1));
        Close.Assert(expected, rates, 0, 1e-14, $"{name}: rates at epochs 0 to 40");
    }

    [TestCase("cosine")]
    [TestCase("warmup-cosine")]
    [TestCase("constant-exponential-step")]
    public void StateSavedAtAnyEpoch_ContinuesBitForBit(string name)
    {
        double[] whole = Rates(name, stopAt: null);
        for (int stopAt = 0; stopAt < 40; stopAt += 3)
            Assert.That(Rates(name, stopAt), Is.EqualTo(whole), $"{name} saved after {stopAt} steps and continued");
    }

    /// <summary>The 41 rates of a run that, with <paramref name="stopAt"/>, hands its state to a fresh optimizer and schedule after that many steps.</summary>
    private static double[] Rates(string name, int? stopAt)
    {
        var optimizer = NewOptimizer();
        var schedule = Create(name, optimizer);
        var rates = new List<double> { optimizer.LearningRate };
        for (int epoch = 1; epoch <= 40; epoch++)
        {
            if (epoch - 1 == stopAt)
            {
                var (state, rate) = (schedule.StateDict(), optimizer.LearningRate);
                optimizer.Dispose();
                optimizer = NewOptimizer();
                schedule = Create(name, optimizer);
                schedule.LoadStateDict(state);
                optimizer.LearningRate = rate;
            }
            schedule.Step();
            rates.Add(optimizer.LearningRate);
        }
        optimizer.Dispose();
        return rates.ToArray();
    }

    [Test]
    public void BadSettings_AreRefusedNamingTheSetting()
    {
        using var optimizer = NewOptimizer();
        using var other = NewOptimizer();
        Assert.That(() => new StepLR(optimizer, 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("stepSize"));
        Assert.That(() => new StepLR(optimizer, 2, gamma: double.NaN), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("gamma"));
        Assert.That(() => new MultiStepLR(optimizer, []), Throws.ArgumentException.With.Message.Contains("at least one milestone"));
        Assert.That(() => new MultiStepLR(optimizer, [3, 0]), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("above 0"));
        Assert.That(() => new CosineAnnealingLR(optimizer, 10, etaMin: -1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("etaMin"));
        Assert.That(() => new LinearLR(optimizer, startFactor: 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("startFactor must lie in (0, 1]"));
        Assert.That(() => new LinearLR(optimizer, endFactor: 1.5), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("endFactor must lie in [0, 1]"));
        Assert.That(() => new ConstantLR(optimizer, factor: 2), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("factor"));

        var a = new StepLR(optimizer, 2);
        var b = new ExponentialLR(optimizer, 0.9);
        Assert.That(() => new SequentialLR(optimizer, [a, b], []), Throws.ArgumentException.With.Message.Contains("2 schedules need 1 milestones, got 0"));
        Assert.That(() => new SequentialLR(optimizer, [a, b, a], [4, 4]), Throws.ArgumentException.With.Message.Contains("increasing"));
        Assert.That(() => new SequentialLR(optimizer, [a, new StepLR(other, 2)], [3]), Throws.ArgumentException.With.Message.Contains("another optimizer"));
        var sequence = new SequentialLR(optimizer, [a, b], [3]);
        Assert.That(() => new SequentialLR(optimizer, [sequence, b], [3]), Throws.ArgumentException.With.Message.Contains("itself a SequentialLR"));
        Assert.That(() => b.LoadStateDict(a.StateDict()), Throws.ArgumentException
            .With.Message.Contains("saved by StepLR(step_size=2, gamma=0.1), not by ExponentialLR(gamma=0.9)"));
    }

    [Test]
    public void ATrainingCheckpoint_CarriesTheScheduleAndTheRate_AndRefusesAnotherSchedule()
    {
        using var dir = new TempDirectory();
        string path = dir.File("scheduled.safetensors");
        using var model = Mlp.Create(4, [3], 2, Activation.ReLU, new Generator(5));
        using var optimizer = new Adam(model.Parameters(), lr: 0.1);
        var schedule = Create("warmup-cosine", optimizer);
        for (int i = 0; i < 7; i++) schedule.Step();
        var position = new TrainingPosition(7, new Generator(5).GetState(), []);
        TrainingCheckpoint.Save(path, model, optimizer, position, scheduler: schedule);
        var file = SafetensorsReader.Read(path);

        using var restoredModel = Mlp.Create(4, [3], 2, Activation.ReLU, new Generator(6));
        using var restored = new Adam(restoredModel.Parameters(), lr: 0.1);
        var restoredSchedule = Create("warmup-cosine", restored);
        Assert.That(restored.LearningRate, Is.Not.EqualTo(optimizer.LearningRate), "a fresh schedule starts at epoch 0");
        TrainingCheckpoint.Load(file, restoredModel, restored, restoredSchedule);
        Assert.That(restored.LearningRate, Is.EqualTo(optimizer.LearningRate));
        var (saved, loaded) = ((SequentialLR)schedule, (SequentialLR)restoredSchedule);
        Assert.That(loaded.Schedulers.Select(s => (s.LastEpoch, s.StepCount, s.LastLearningRate)),
            Is.EqualTo(saved.Schedulers.Select(s => (s.LastEpoch, s.StepCount, s.LastLearningRate))), "each part's position");
        for (int i = 0; i < 5; i++)
        {
            schedule.Step();
            restoredSchedule.Step();
            Assert.That(restored.LearningRate, Is.EqualTo(optimizer.LearningRate), $"the rate {i + 1} steps on");
        }

        using var plainModel = Mlp.Create(4, [3], 2, Activation.ReLU, new Generator(6));
        using var plain = new Adam(plainModel.Parameters(), lr: 0.1);
        Assert.That(() => TrainingCheckpoint.Load(file, plainModel, plain), Throws.InstanceOf<CheckpointFormatException>()
            .With.Message.Contains("was saved with the learning-rate schedule SequentialLR([LinearLR(start_factor=0.1"));
        Assert.That(() => TrainingCheckpoint.Load(file, plainModel, plain, new StepLR(plain, 3)), Throws.InstanceOf<CheckpointFormatException>()
            .With.Message.Contains("it cannot resume StepLR(step_size=3, gamma=0.1)"));
        Assert.That(plain.LearningRate, Is.EqualTo(0.1), "a refused checkpoint changes nothing");
    }

    private static SGD NewOptimizer() => new([new Parameter(Tensor.Zeros([1], DType.Float64))], lr: 0.1);
}
