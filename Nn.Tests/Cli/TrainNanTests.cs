using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>A loss that turns NaN stops training with the epoch and step, and never overwrites a good checkpoint.</summary>
public class TrainNanTests
{
    // Adam moves every weight by about lr per step; 1e30 overflows the logits to infinity within a few steps.
    private const string ExplodingLr = "1e30";

    [Test]
    public void NaNLoss_StopsNamingEpochAndStep_AndKeepsTheGoodCheckpoint()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 200, 50);
        string save = dir.File("good.safetensors");
        Assert.That(Run("train", "--data", data, "--hidden", "8", "--epochs", "1", "--save", save, "--device", "cpu").Code, Is.Zero);
        byte[] good = File.ReadAllBytes(save);

        var result = Run("train", "--data", data, "--hidden", "8", "--epochs", "2", "--lr", ExplodingLr, "--save", save, "--device", "cpu");
        Assert.That(result.Code, Is.EqualTo(1));
        Assert.That(result.Error, Does.Match(@"NaN or infinite in epoch 1 at step \d+ \(batch \d+ of 4\)"));
        Assert.That(result.Error, Does.Contain("was left as it was").And.Contain("--continue-on-nan"));
        Assert.That(File.ReadAllBytes(save), Is.EqualTo(good), "the good checkpoint is untouched");
    }

    [Test]
    public void ContinueOnNan_WarnsAndFinishes()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 200, 50);
        var result = Run("train", "--data", data, "--hidden", "8", "--epochs", "2", "--lr", ExplodingLr, "--continue-on-nan",
            "--save", dir.File("x.safetensors"), "--device", "cpu");
        Assert.That(result.Code, Is.Zero, result.Error);
        Assert.That(result.Output, Does.Contain("warning: the training loss became NaN or infinite in epoch 1"));
        Assert.That(result.Output, Does.Contain("Epoch 2/2"));
    }
}
