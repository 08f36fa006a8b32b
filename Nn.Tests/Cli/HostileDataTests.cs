using CudaNn.Cli;
using CudaNn.Data;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>Data that cannot be trained on is refused when it is loaded, naming the files, before any epoch runs.</summary>
public class HostileDataTests
{
    /// <summary>The shipped digits' first images, with the test images cut to 14x14.</summary>
    private static string SmallerTestImages(TempDirectory dir)
    {
        string data = SmallMnist(dir, 40, 20);
        IdxWriter.Write(Path.Combine(data, "t10k-images-idx3-ubyte"), [20, 14, 14], new byte[20 * 14 * 14]);
        return data;
    }

    [Test]
    public void TrainAndTestImagesOfDifferentSizes_AreNamedAtLoad()
    {
        using var dir = new TempDirectory();
        string data = SmallerTestImages(dir);
        var run = Run("train", "--data", data, "--hidden", "8", "--epochs", "2", "--device", "cpu", "--save", dir.File("w.safetensors"));
        Assert.That(run.Code, Is.EqualTo(CliApp.RunError));
        Assert.That(run.Error, Does.Contain($"'{Path.Combine(data, "t10k-images-idx3-ubyte")}': holds 14x14 images but training images file " +
            $"'{Path.Combine(data, "train-images-idx3-ubyte")}' holds 28x28"));
        Assert.That(run.Output, Does.Not.Contain("Epoch"), "refused before the first epoch");
        Assert.That(File.Exists(dir.File("w.safetensors")), Is.False);
    }

    [Test]
    public void EvalOfTestImagesOfAnotherSize_NamesTheCheckpointAndTheImages()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("w.safetensors");
        Assert.That(Run("train", "--data", SmallMnist(dir, 40, 20), "--hidden", "8", "--epochs", "1", "--device", "cpu", "--save", checkpoint).Code, Is.Zero);
        string data = SmallerTestImages(dir);
        foreach (string command in new[] { "eval", "predict" })
        {
            var run = Run(command, "--checkpoint", checkpoint, "--data", data, "--device", "cpu");
            Assert.That(run.Code, Is.EqualTo(CliApp.RunError));
            Assert.That(run.Error, Does.Contain($"--checkpoint: '{checkpoint}' takes 784 inputs but the test images in " +
                $"'{Path.Combine(data, "t10k-images-idx3-ubyte")}' have 14x14 = 196 pixels"));
        }
    }

    [Test]
    public void DuplicateCsvColumns_AreRefusedNamingBoth()
    {
        using var dir = new TempDirectory();
        string csv = dir.File("rows.csv");
        File.WriteAllText(csv, "x1,x2,target,x2\n" + string.Concat(Enumerable.Range(0, 20).Select(i => $"{i},{i * 2},{i * 3},{i * 4}\n")));
        var run = Run("train", "--task", "regression", "--target", "target", "--data", csv, "--epochs", "1", "--device", "cpu", "--save", dir.File("w.safetensors"));
        Assert.That(run.Code, Is.EqualTo(CliApp.RunError));
        Assert.That(run.Error, Does.Contain($"--data: {csv}: columns 2 and 4 are both named 'x2'"));
    }
}
