using CudaNn.Checkpoints;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>`train --resume` continues exactly: the split run's checkpoint equals the uninterrupted run's, bit for bit.</summary>
public class TrainResumeTests
{
    [TestCase("adam", "")]
    [TestCase("sgd", "")]
    [TestCase("sgd", "--lr-schedule cosine:4:0.0001 --clip-grad-norm 0.5")]
    [TestCase("adam", "--lr-schedule constant:0.5:1@2,exponential:0.5 --clip-grad-value 0.01")]
    [TestCase("sgd", "--dropout 0.3 --activation gelu --layer-norm")]
    public void TwoEpochsThenResumeToThree_IsBitIdenticalToThreeEpochs(string optimizer, string options)
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 600, 200);
        string[] common = ["--data", data, "--hidden", "24,12", "--batch-size", "50", "--seed", "7", "--optimizer", optimizer, "--device", "cpu",
            .. options.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        string a = dir.File("a.safetensors"), b = dir.File("b.safetensors"), c = dir.File("c.safetensors");

        Assert.That(Run(["train", .. common, "--epochs", "2", "--save", a]).Code, Is.Zero);
        var resumed = Run("train", "--resume", a, "--epochs", "3", "--save", b, "--data", data, "--device", "cpu");
        Assert.That(resumed.Code, Is.Zero, resumed.Error);
        Assert.That(resumed.Output, Does.Contain("Epoch 3/3").And.Not.Contain("Epoch 1/").And.Not.Contain("Epoch 2/"), "one more epoch, not three");
        if (options.Contains("--clip-grad-norm")) Assert.That(resumed.Output, Does.Contain("gradient norm clipped to 0.5"), "the resumed run clips as the first did");
        if (options.Contains("--clip-grad-value")) Assert.That(resumed.Output, Does.Contain("gradients clamped to ±0.01"));
        if (options.Contains("--lr-schedule")) Assert.That(resumed.Output, Does.Contain("scheduled by"));
        if (options.Contains("--dropout")) Assert.That(resumed.Output, Does.Contain("gelu layernorm dropout 0.3"), "the resumed model is the first one: GELU, layer norms, dropping as it did");
        Assert.That(Run(["train", .. common, "--epochs", "3", "--save", c]).Code, Is.Zero);

        var split = SafetensorsReader.Read(b);
        var whole = SafetensorsReader.Read(c);
        Assert.That(split.Tensors.Select(t => t.Name), Is.EquivalentTo(whole.Tensors.Select(t => t.Name)));
        foreach (var tensor in whole.Tensors)
            Assert.That(split.Get(tensor.Name).Data.ToArray(), Is.EqualTo(tensor.Data.ToArray()), $"{tensor.Name} differs");
        Assert.That(TrainingCheckpoint.ReadPosition(split).EpochsCompleted, Is.EqualTo(3));
        Assert.That(TrainingCheckpoint.ReadPosition(split).History.Select(h => h.Epoch), Is.EqualTo(new[] { 1, 2, 3 }));
    }

    [Test]
    public void ResumeWithDifferentSettingsOrTooFewEpochs_IsAUsageError()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 100, 50);
        string a = dir.File("a.safetensors");
        Assert.That(Run("train", "--data", data, "--hidden", "8", "--epochs", "1", "--save", a, "--device", "cpu").Code, Is.Zero);

        var lr = Run("train", "--resume", a, "--data", data, "--epochs", "2", "--lr", "0.5", "--save", dir.File("x.safetensors"));
        Assert.That(lr.Code, Is.EqualTo(2));
        Assert.That(lr.Error, Does.Contain("--lr 0.5 differs from the checkpoint's 0.001"));

        var dropout = Run("train", "--resume", a, "--data", data, "--epochs", "2", "--dropout", "0.5", "--save", dir.File("x.safetensors"));
        Assert.That(dropout.Code, Is.EqualTo(2));
        Assert.That(dropout.Error, Does.Contain("--dropout 0.5 differs from the checkpoint's 0"));

        var epochs = Run("train", "--resume", a, "--data", data, "--epochs", "1", "--save", dir.File("x.safetensors"));
        Assert.That(epochs.Code, Is.EqualTo(2));
        Assert.That(epochs.Error, Does.Contain("already completed 1 epochs"));
        Assert.That(File.Exists(dir.File("x.safetensors")), Is.False);
    }

    [Test]
    public void ACheckpointStoppedInsideAnEpoch_IsNotResumed_AndCountsOnlyWholeEpochs()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 100, 50);
        string a = dir.File("a.safetensors");
        // 100 samples at batch 10 are 10 steps an epoch: 13 steps end 3 steps into epoch 2.
        var run = Run("train", "--data", data, "--hidden", "8", "--batch-size", "10", "--epochs", "3", "--max-steps", "13", "--save", a, "--device", "cpu");
        Assert.That(run.Code, Is.Zero, run.Error);
        Assert.That(TrainingCheckpoint.ReadPosition(SafetensorsReader.Read(a)).EpochsCompleted, Is.EqualTo(1));

        var resumed = Run("train", "--resume", a, "--data", data, "--epochs", "3", "--save", dir.File("b.safetensors"));
        Assert.That(resumed.Code, Is.EqualTo(1));
        Assert.That(resumed.Error, Does.Contain("inside epoch 2").And.Contain("--init"));
    }

    [Test]
    public void ResumeFromWeightsOnly_SaysToUseInit()
    {
        using var dir = new TempDirectory();
        string weights = dir.File("w.safetensors");
        SafetensorsWriter.Write(weights, [SafetensorsEntry.FromFloats("fc1.weight", [10, 784], new float[7840]), SafetensorsEntry.FromFloats("fc1.bias", [10], new float[10])]);
        var result = Run("train", "--resume", weights, "--epochs", "2");
        Assert.That(result.Code, Is.EqualTo(1));
        Assert.That(result.Error, Does.Contain("weights only").And.Contain("--init"));
    }

    [Test]
    public void SaveEveryWithKeep_LeavesTheNewestNumberedCheckpoints()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 100, 50);
        string save = dir.File("run.safetensors");
        var result = Run("train", "--data", data, "--hidden", "8", "--epochs", "4", "--save-every", "1", "--keep", "2", "--save", save, "--device", "cpu");
        Assert.That(result.Code, Is.Zero, result.Error);
        var numbered = Directory.GetFiles(dir.Path, "run.epoch-*.safetensors").Select(Path.GetFileName).Order().ToArray();
        Assert.That(numbered, Is.EqualTo(new[] { "run.epoch-3.safetensors", "run.epoch-4.safetensors" }));
        Assert.That(TrainingCheckpoint.ReadPosition(SafetensorsReader.Read(dir.File("run.epoch-3.safetensors"))).EpochsCompleted, Is.EqualTo(3));
        Assert.That(TrainingCheckpoint.ReadPosition(SafetensorsReader.Read(save)).EpochsCompleted, Is.EqualTo(4));
        Assert.That(Directory.GetFiles(dir.Path, "*.tmp"), Is.Empty);
    }

    // A bare cosine anneals over the epochs its part runs (PyTorch needs T_max; the CLI knows the run), and the checkpoint
    // records that number, so a resumed run anneals as the first did.
    [TestCase("cosine", 4, "cosine:4")]
    [TestCase("linear:0.1:1:2@2,cosine", 5, "linear:0.1:1:2@2,cosine:3")]
    public void BareCosine_AnnealsOverTheRunsEpochs_AndIsRecordedResolved(string schedule, int epochs, string recorded)
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 100, 50);
        string a = dir.File("a.safetensors");
        var run = Run("train", "--data", data, "--hidden", "8", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--lr-schedule", schedule, "--device", "cpu", "--save", a);
        Assert.That(run.Code, Is.Zero, run.Error);
        Assert.That(SafetensorsReader.Read(a).Metadata["cudann.train.lr_schedule"], Is.EqualTo(recorded));
        Assert.That(run.Output, Does.Contain("scheduled by"));
    }

    [Test]
    public void BareCosineWithNoEpochsLeft_IsAUsageErrorSayingSo()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 100, 50);
        var run = Run("train", "--data", data, "--hidden", "8", "--epochs", "3", "--lr-schedule", "step:1@3,cosine", "--device", "cpu",
            "--save", dir.File("a.safetensors"));
        Assert.That(run.Code, Is.EqualTo(2));
        Assert.That(run.Error, Does.Contain("a bare cosine from epoch 3 has no epochs to anneal over (the run ends at 3); give cosine:T_MAX"));
    }
}
