using CudaNn.Cli;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Cli;

/// <summary>The command line end to end, in process, on the shipped digits.</summary>
public class CliTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => CliRunner.Run(args);

    [Test]
    public void TrainThenEvalThenPredict_AgreeOnTheSavedWeights()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("w.safetensors");
        var train = Run("train", "--epochs", "1", "--max-steps", "40", "--hidden", "32", "--seed", "4", "--save", checkpoint, "--device", "cpu");
        Assert.That(train.Code, Is.Zero, train.Error);
        Assert.That(train.Output, Does.Contain("784-32-10 relu").And.Contain("Epoch 1/1: loss").And.Contain("Test Accuracy: "));
        Assert.That(File.Exists(checkpoint));
        string trainAccuracy = train.Output.Split("Test Accuracy: ")[1].Split('%')[0];

        var eval = Run("eval", "--checkpoint", checkpoint);
        Assert.That(eval.Code, Is.Zero, eval.Error);
        Assert.That(eval.Output, Does.Contain($"Test Accuracy: {trainAccuracy}%"), "eval of the saved weights repeats train's final figure");

        var predict = Run("predict", "--checkpoint", checkpoint, "--index", "3");
        Assert.That(predict.Code, Is.Zero, predict.Error);
        Assert.That(predict.Output, Does.Contain("test image 3: true label").And.Contain("  9: "));
        Assert.That(predict.Output.Split('\n').Take(28).All(line => line.Length == 56), "28 rows of 28 two-character pixels");
    }

    // Help speaks of the tool by its command, cudann, however it was started (the entry assembly is CudaNn.Cli).
    [Test]
    public void Help_NamesTheToolCudann_AndAUsageErrorPointsThere()
    {
        var root = Run("--help");
        Assert.That(root.Code, Is.Zero);
        Assert.That(root.Output, Does.Contain("cudann [command] [options]").And.Not.Contain("CudaNn.Cli"));
        Assert.That(Run("train", "--help").Output, Does.Contain("cudann train [options]"));
        Assert.That(Run("train", "--epoks", "3").Error, Does.Contain("Run 'cudann --help' for usage."));
    }

    [TestCase("train", "--batch-size", "-3", "--batch-size must be a whole number from 1 to 65,536, got '-3'")]
    [TestCase("train", "--hidden", "128,x", "--hidden must be up to 63 positive widths")]
    [TestCase("train", "--optimizer", "adagrad", "adagrad")]
    [TestCase("train", "--lr", "0", "--lr must be a positive number")]
    [TestCase("train", "--epoks", "3", "--epoks")]
    [TestCase("eval", "--device", "cpu", "--checkpoint")]
    [TestCase("train", "--device", "tpu", "unknown device 'tpu'")]
    [TestCase("train", "--lr-schedule", "cosine:4:0:1", "--lr-schedule 'cosine:4:0:1': 'cosine:4:0:1': cosine takes 0 to 2 values after 'cosine', got 3")]
    [TestCase("train", "--lr-schedule", "step:2,cosine:5", "'step:2' is followed by another schedule, so it needs '@EPOCH'")]
    [TestCase("train", "--lr-schedule", "linear:0:1:5", "startFactor must lie in (0, 1]")]
    [TestCase("train", "--lr-schedule", "warmup:5", "unknown schedule 'warmup'")]
    [TestCase("train", "--lr-schedule", "step:two", "step's value 1 'two' is not a whole number")]
    [TestCase("train", "--lr-schedule", "step:3@2,cosine:4@2,exponential:0.9", "milestones must be increasing")]
    [TestCase("train", "--clip-grad-norm", "0", "--clip-grad-norm must be a positive number")]
    [TestCase("train", "--clip-grad-value", "-1", "--clip-grad-value must be a positive number")]
    [TestCase("train", "--dropout", "1", "--dropout must be a probability in [0, 1), got '1'")]
    [TestCase("train", "--dropout", "-0.5", "--dropout must be a probability in [0, 1), got '-0.5'")]
    [TestCase("train", "--save-every", "-1", "--save-every must be a whole number from 0 to 1,000,000, got '-1'")]
    [TestCase("train", "--keep", "-2", "--keep must be a whole number from 0 to 10,000, got '-2'")]
    [TestCase("train", "--plot", "/nonexistent/dir/p.png", "--plot: directory '/nonexistent/dir'")]
    [TestCase("train", "--plot", "/tmp", "--plot: '/tmp' is a directory")]
    [TestCase("train", "--save", "/tmp", "--save: '/tmp' is a directory")]
    [TestCase("train", "--save", "/proc/x.safetensors", "--save: cannot create a file in '/proc'")]
    [TestCase("train", "--save", "/sys/x", "--save: cannot create a file in '/sys'")]
    [TestCase("train", "--save", "", "--save: the path is empty")]
    [TestCase("playground", "--data", "moons", "moons")]
    [TestCase("playground", "--noise", "1.5", "--noise must be from 0 to 1")]
    [TestCase("playground", "--train-ratio", "1", "--train-ratio must be between 0 and 1")]
    [TestCase("playground", "--hidden", "4,,4", "--hidden must be up to 63 positive widths")]
    [TestCase("export", "--checkpoint", "x.safetensors", "--onnx")]
    [TestCase("predict", "--count", "0", "--count must be a whole number from 1 to 1,000, got '0'")]
    public void BadArguments_GiveOneClearLineAndExitCode2(string command, string option, string value, string expected)
    {
        var result = Run(command, option, value);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain(expected));
        Assert.That(result.Error, Does.Not.Contain("   at "), "no stack trace");
    }

    [TestCase("fused")]
    [TestCase("epilogues")]
    public void VerifyWithAGpuPlan_OnTheCpu_SaysItNeedsAGpuOrTheEmulator(string plan)
    {
        var result = Run("verify", "--device", "cpu", "--plan", plan);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain($"--plan {plan} runs on a GPU or the emulator; cpu runs an MLP layer by layer"));
    }

    [Test]
    public void VerifyWithAPlanThatDoesNotApply_SaysWhy()
    {
        var result = Run("verify", "--device", "emulator", "--plan", "fused", "--precision", "tf32");
        if (result.Error.Contains("C++ compiler", StringComparison.Ordinal))
            Requirements.SkipOrFail(Requirements.RequireEmulator, $"the host emulator cannot be built: {result.Error}");
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--plan fused does not apply here: the fused MLP kernels compute in FP32, not TF32"));
    }

    [Test]
    public void CudaWithoutAUsableGpu_SaysWhyAndExitsWith1()
    {
        if (CudaNn.Backends.Cuda.CudaDevices.IsCudaUsable(out _)) Assert.Ignore("a GPU is usable here");
        var result = Run("train", "--device", "cuda", "--max-steps", "1");
        Assert.That(result.Code, Is.EqualTo(1));
        Assert.That(result.Error, Does.Contain("cuda:0 is not usable"));
        Assert.That(result.Error, Does.Not.Contain("   at "));
    }

    [Test]
    public void MissingDataDirectory_IsNamed()
    {
        var result = Run("train", "--data", "/nonexistent/mnist");
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("/nonexistent/mnist"));
    }

    [Test]
    public void DataDirectoryWithoutMnistFiles_ListsWhatWasLookedFor()
    {
        using var dir = new TempDirectory();
        var result = Run("train", "--data", dir.Path);
        Assert.That(result.Code, Is.EqualTo(1));
        Assert.That(result.Error, Does.Contain("train-images-idx3-ubyte"));
    }

    [Test]
    public void CorruptCheckpoint_IsRejectedWithItsName()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("broken.safetensors", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, (byte)'{']);
        var result = Run("eval", "--checkpoint", path);
        Assert.That(result.Code, Is.EqualTo(1));
        Assert.That(result.Error, Does.Contain("broken.safetensors"));
        Assert.That(result.Error, Does.Not.Contain("   at "));
    }

    [Test]
    public void Info_AlwaysSucceeds_AndSaysWhetherThereIsAGpu()
    {
        var result = Run("info");
        Assert.That(result.Code, Is.Zero);
        Assert.That(result.Output, Does.Contain(".NET:").And.Contain("NVRTC:").And.Contain("GPU:"));
    }
}
