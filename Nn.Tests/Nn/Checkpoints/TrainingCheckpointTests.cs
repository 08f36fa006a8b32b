using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Checkpoints;

/// <summary>Training checkpoints round-trip optimizer state and position, and refuse what does not fit without touching anything.</summary>
public class TrainingCheckpointTests
{
    private const ulong Seed = 31;

    [Test]
    public void SaveThenLoad_RestoresWeightsMomentsStepAndPosition()
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        using var dir = new TempDirectory();
        var spec = new MlpSpec(5, [4], 3, Activation.Tanh);
        using var model = spec.Create(new Generator(Seed));
        using var adam = new Adam(model.Parameters());
        var random = new Random((int)Seed);
        adam.ExpAvg.CopyFrom<float>(Enumerable.Range(0, (int)adam.ExpAvg.Numel).Select(_ => (float)random.NextDouble()).ToArray());
        adam.ExpAvgSq.CopyFrom<float>(Enumerable.Range(0, (int)adam.ExpAvgSq.Numel).Select(_ => (float)random.NextDouble()).ToArray());
        adam.RestoreStepCount(17);
        var position = new TrainingPosition(2, [1, 2, 3, ulong.MaxValue], [new EpochRecord(1, 0.9, 0.8, 0.5), new EpochRecord(2, 0.7, 0.6, 0.75)]);
        string path = dir.File("t.safetensors");
        TrainingCheckpoint.Save(path, model, adam, position, spec.ToMetadata());

        using var model2 = spec.Create(new Generator(Seed + 1));
        using var adam2 = new Adam(model2.Parameters());
        adam2.ExpAvg.CopyFrom<float>(Enumerable.Repeat(float.NaN, (int)adam2.ExpAvg.Numel).ToArray());
        var file = SafetensorsReader.Read(path);
        var loaded = TrainingCheckpoint.Load(file, model2, adam2);

        Assert.That(loaded.EpochsCompleted, Is.EqualTo(2));
        Assert.That(loaded.GeneratorState, Is.EqualTo(position.GeneratorState));
        Assert.That(loaded.History, Is.EqualTo(position.History));
        Assert.That(adam2.StepCount, Is.EqualTo(17));
        Assert.That(adam2.ExpAvg.ToArray<float>(), Is.EqualTo(adam.ExpAvg.ToArray<float>()));
        Assert.That(adam2.ExpAvgSq.ToArray<float>(), Is.EqualTo(adam.ExpAvgSq.ToArray<float>()));
        foreach (var ((name, a), (_, b)) in model.NamedParameters().Zip(model2.NamedParameters()))
            Assert.That(b.Value.ToArray<float>(), Is.EqualTo(a.Value.ToArray<float>()), name);
        Assert.That(ModelCheckpoint.TrainingStatePrefix, Is.EqualTo("cudann."));
        Assert.DoesNotThrow(() => ModelCheckpoint.Load(model2, file), "a weights-only loader ignores the training state");
    }

    [Test]
    public void WrongOptimizer_IsRefused_AndLeavesModelAndOptimizerUntouched()
    {
        using var dir = new TempDirectory();
        var spec = new MlpSpec(5, [4], 3, Activation.ReLU);
        using var model = spec.Create(new Generator(Seed));
        using var adam = new Adam(model.Parameters());
        string path = dir.File("t.safetensors");
        TrainingCheckpoint.Save(path, model, adam, new TrainingPosition(1, [1, 1, 1, 1], []));

        using var other = spec.Create(new Generator(Seed + 5));
        using var sgd = new SGD(other.Parameters(), momentum: 0.9);
        float[] before = other.Parameters()[0].Value.ToArray<float>();
        Assert.That(() => TrainingCheckpoint.Load(SafetensorsReader.Read(path), other, sgd),
            Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("adam optimizer").And.Message.Contain("sgd"));
        Assert.That(other.Parameters()[0].Value.ToArray<float>(), Is.EqualTo(before));
        Assert.That(sgd.StepCount, Is.Zero);
    }

    [Test]
    public void ZeroGeneratorState_IsRejectedBeforeWriting()
    {
        using var dir = new TempDirectory();
        using var model = new MlpSpec(2, [2], 2, Activation.ReLU).Create(new Generator(Seed));
        using var sgd = new SGD(model.Parameters());
        string path = dir.File("t.safetensors");
        Assert.That(() => TrainingCheckpoint.Save(path, model, sgd, new TrainingPosition(1, [0, 0, 0, 0], [])),
            Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("generator state"));
        Assert.That(File.Exists(path), Is.False);
    }
}
