using System.Text.Json;
using CudaNn.Checkpoints;
using CudaNn.Tests.Nn.Backends.Cuda;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>
/// `train --task regression --data FILE.csv --target COLUMN` as a user runs it: Nn.Tests/References/regression.csv (100
/// rows, the target between the features), 80 training and 20 test rows drawn by the seed, the test RMSE after every epoch.
/// </summary>
public class RegressionCliTests
{
    private static string Csv => Path.Combine(ReferenceFiles.Folder(), "regression.csv");

    private static string[] Common(string device = "cpu") =>
        ["train", "--task", "regression", "--target", "target", "--data", Csv, "--hidden", "16", "--batch-size", "16", "--lr", "0.01", "--seed", "3", "--device", device];

    [Test]
    public void OneTestRow_IsCountedInTheSingular()
    {
        using var dir = new TempDirectory();
        string csv = dir.File("six.csv");
        File.WriteAllText(csv, "x,target\n1,2\n2,4\n3,6\n4,8\n5,10\n6,12\n");
        var run = Run("train", "--task", "regression", "--target", "target", "--data", csv, "--test-fraction", "0.2", "--hidden", "4",
            "--epochs", "1", "--device", "cpu", "--save", dir.File("s.safetensors"));
        Assert.That(run.Code, Is.Zero, run.Error);
        Assert.That(run.Output, Does.Contain("5 train rows, 1 test row, target 'target'").And.Contain("(1 row, test MSE "));
    }

    // Run as a user runs it, in a folder of their own: without --save, the checkpoint is named after the CSV.
    [Test]
    public void WithoutSave_TheCheckpointIsNamedAfterTheCsv_AndTheRunSaysWhere()
    {
        using var dir = new TempDirectory();
        File.Copy(Csv, dir.File("diabetes.csv"));
        var (code, output, error) = RunAsProcess(["train", "--task", "regression", "--target", "target", "--data", "diabetes.csv", "--epochs", "1", "--device", "cpu"],
            workingDirectory: dir.Path);
        Assert.That(code, Is.Zero, error);
        Assert.That(File.Exists(dir.File("diabetes-mlp.safetensors")), output);
        Assert.That(File.Exists(dir.File("mnist-mlp.safetensors")), Is.False, "not the digits' name");
        Assert.That(output, Does.Contain("Saved weights to diabetes-mlp.safetensors"));
    }

    [Test]
    public void Train_ReportsTheTestRmse_AndSavesARegressionCheckpoint()
    {
        using var dir = new TempDirectory();
        string path = dir.File("r.safetensors");
        var run = Run([.. Common(), "--epochs", "3", "--save", path]);
        Assert.That(run.Code, Is.Zero, run.Error);
        Assert.That(run.Output, Does.Contain("3-16-1 relu").And.Contain("80 train rows, 20 test rows, target 'target'").And.Contain("Epoch 3/3"));
        Assert.That(run.Output, Does.Contain("Test RMSE: ").And.Contain("(20 rows, test MSE ").And.Not.Contain("Test Accuracy"));
        var file = SafetensorsReader.Read(path);
        Assert.That(file.Metadata["cudann.train.task"], Is.EqualTo("regression"));
        Assert.That(file.Metadata["cudann.train.target"], Is.EqualTo("target"));
        Assert.That(file.Get("fc1.weight").Shape, Is.EqualTo(new long[] { 16, 3 }), "three features: every column but the target");

        var json = Run([.. Common(), "--epochs", "2", "--json", "--save", dir.File("j.safetensors")]);
        var lines = json.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var epoch = lines.First(l => l.GetProperty("event").GetString() == "epoch");
        double rmse = epoch.GetProperty("test_rmse").GetDouble();
        Assert.That(rmse * rmse, Is.EqualTo(epoch.GetProperty("test_loss").GetDouble()).Within(1e-12).Percent, "RMSE is the root of the test MSE");
        Assert.That(epoch.GetProperty("test_accuracy").ValueKind, Is.EqualTo(JsonValueKind.Null), "a regression has no accuracy");
    }

    [Test]
    public void TwoEpochsThenResumeToThree_IsBitIdenticalToThree()
    {
        using var dir = new TempDirectory();
        string a = dir.File("a.safetensors"), b = dir.File("b.safetensors"), c = dir.File("c.safetensors");
        Assert.That(Run([.. Common(), "--epochs", "2", "--save", a]).Code, Is.Zero);
        var resumed = Run("train", "--resume", a, "--epochs", "3", "--save", b, "--task", "regression", "--target", "target", "--data", Csv, "--device", "cpu");
        Assert.That(resumed.Code, Is.Zero, resumed.Error);
        Assert.That(Run([.. Common(), "--epochs", "3", "--save", c]).Code, Is.Zero);
        var split = SafetensorsReader.Read(b);
        var whole = SafetensorsReader.Read(c);
        foreach (var tensor in whole.Tensors)
            Assert.That(split.Get(tensor.Name).Data.ToArray(), Is.EqualTo(tensor.Data.ToArray()), $"{tensor.Name} differs");

        var withoutTask = Run("train", "--resume", a, "--epochs", "3", "--save", dir.File("x.safetensors"), "--device", "cpu");
        Assert.That(withoutTask.Code, Is.EqualTo(1));
        Assert.That(withoutTask.Error, Does.Contain("learned column 'target' of a CSV file").And.Contain("--task regression --target target --data FILE.csv"));
        var unscaled = Run("train", "--resume", a, "--epochs", "3", "--save", dir.File("y.safetensors"), "--task", "regression", "--target", "target",
            "--data", Csv, "--device", "cpu", "--no-standardize");
        Assert.That(unscaled.Code, Is.EqualTo(2));
        Assert.That(unscaled.Error, Does.Contain("--no-standardize: the checkpoint was trained without it; a resumed run keeps the checkpoint's settings"));
        var evaluation = Run("eval", "--checkpoint", a);
        Assert.That(evaluation.Code, Is.EqualTo(1));
        Assert.That(evaluation.Error, Does.Contain("holds a regression of CSV column 'target'; eval and predict read MNIST images"));
    }

    [TestCase("--task regression --data CSV", "--task regression needs --target COLUMN")]
    [TestCase("--target target", "--target reads a CSV file: give it with --data FILE.csv")]
    [TestCase("--data CSV", "is a file; to learn from a CSV file, name the column to learn with --target COLUMN")]
    [TestCase("--no-standardize", "--no-standardize applies to a CSV's columns; it needs --target COLUMN")]
    [TestCase("--task regression --target target --data DIR", "is a directory")]
    [TestCase("--task regression --target price --data CSV", "no column 'price'; the header has x1, x2, target, x3")]
    [TestCase("--task regression --target target --data CSV --test-fraction 1", "--test-fraction must be a fraction strictly between 0 and 1, got '1'")]
    [TestCase("--task regression --target target --data CSV --plot p.png", "--plot draws a classifier's loss and test accuracy")]
    public void BadArguments_AreNamed(string arguments, string message)
    {
        using var dir = new TempDirectory();
        string[] args = arguments.Replace("CSV", Csv).Replace("DIR", dir.Path).Split(' ');
        var run = Run(["train", .. args, "--epochs", "1", "--device", "cpu", "--save", dir.File("x.safetensors")]);
        Assert.That(run.Code, Is.Not.Zero);
        Assert.That(run.Error, Does.Contain(message));
        Assert.That(File.Exists(dir.File("x.safetensors")), Is.False, "nothing written");
    }
}

/// <summary>The same regression on the CUDA backend (the emulator in CI), graphs on, beside the CPU: the same test RMSE to float32 rounding.</summary>
[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class RegressionCliDeviceTests(string device) : CudaDeviceFixture(device)
{
    [Test]
    public void Train_MatchesTheCpu()
    {
        using var dir = new TempDirectory();
        string csv = Path.Combine(ReferenceFiles.Folder(), "regression.csv");
        string[] common = ["train", "--task", "regression", "--target", "target", "--data", csv, "--hidden", "16", "--batch-size", "16", "--epochs", "3", "--json"];
        var onCpu = Run([.. common, "--device", "cpu", "--save", dir.File("cpu.safetensors")]);
        var onDevice = Run([.. common, "--device", Device.Name, "--save", dir.File("dev.safetensors")]);
        Assert.That(onDevice.Code, Is.Zero, onDevice.Error);
        double Rmse(string output) => JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement.GetProperty("test_rmse").GetDouble();
        // 15 Adam steps of lr 1e-3 on float32 GEMMs summed in another order: the RMSE agrees to 1e-4 relative.
        Assert.That(Rmse(onDevice.Output), Is.EqualTo(Rmse(onCpu.Output)).Within(1e-2).Percent);
    }
}
