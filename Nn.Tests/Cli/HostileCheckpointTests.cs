using CudaNn.Checkpoints;
using CudaNn.Cli;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>
/// Checkpoints a hostile user edited: every command that reads one (eval, predict, export, train --resume and --init)
/// refuses it with one line naming what is wrong, before building a model from it, instead of hanging, allocating
/// gigabytes or computing with NaN.
/// </summary>
public class HostileCheckpointTests
{
    private TempDirectory _dir = null!;
    private string _data = "", _valid = "";

    [OneTimeSetUp]
    public void TrainOneEpoch()
    {
        _dir = new TempDirectory();
        _data = SmallMnist(_dir, 100, 50);
        _valid = _dir.File("valid.safetensors");
        var run = Run("train", "--data", _data, "--hidden", "32", "--epochs", "1", "--save", _valid, "--device", "cpu");
        Assert.That(run.Code, Is.Zero, run.Error);
    }

    [OneTimeTearDown]
    public void Remove() => _dir.Dispose();

    /// <summary>A copy of the valid checkpoint with <paramref name="metadata"/> set and <paramref name="tensor"/> applied to each tensor.</summary>
    private string Edited(string name, Dictionary<string, string>? metadata = null, Func<SafetensorsEntry, SafetensorsEntry>? tensor = null)
    {
        var file = SafetensorsReader.Read(_valid);
        var allMetadata = new Dictionary<string, string>(file.Metadata);
        foreach (var (key, value) in metadata ?? []) allMetadata[key] = value;
        string path = _dir.File(name + ".safetensors");
        SafetensorsWriter.Write(path, file.Tensors.Select(tensor ?? (t => t)), allMetadata);
        return path;
    }

    private static SafetensorsEntry WithValue(SafetensorsEntry entry, string name, int index, float value)
    {
        if (entry.Name != name) return entry;
        float[] values = entry.ToFloatArray();
        values[index] = value;
        return SafetensorsEntry.FromFloats(entry.Name, entry.Shape, values);
    }

    private (int Code, string Output, string Error) Command(string command, string checkpoint, params string[] more) => command switch
    {
        "eval" => Run(["eval", "--checkpoint", checkpoint, "--data", _data, "--device", "cpu", .. more]),
        "predict" => Run(["predict", "--checkpoint", checkpoint, "--data", _data, "--device", "cpu", .. more]),
        "export" => Run(["export", "--checkpoint", checkpoint, "--onnx", _dir.File("m.onnx"), .. more]),
        "resume" => Run(["train", "--resume", checkpoint, "--data", _data, "--epochs", "3", "--device", "cpu", "--save", _dir.File("out.safetensors"), .. more]),
        "init" => Run(["train", "--init", checkpoint, "--hidden", "32", "--data", _data, "--epochs", "1", "--device", "cpu", "--save", _dir.File("out.safetensors"), .. more]),
        _ => throw new ArgumentException(command),
    };

    private static void AssertRefused((int Code, string Output, string Error) run, string expected)
    {
        Assert.That(run.Code, Is.EqualTo(CliApp.RunError));
        Assert.That(run.Error, Does.StartWith("error: ").And.Contain(expected));
        Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(run.Output, Does.Not.Contain("Epoch"), "nothing trained");
    }

    [Test]
    public void EpochsCompletedAtIntMax_IsRefusedInsteadOfLoopingForEver()
    {
        string path = Edited("epochs-max", tensor: t => t.Name == "cudann.train.epochs_completed" ? SafetensorsEntry.FromInt64s(t.Name, [], [int.MaxValue]) : t);
        AssertRefused(Command("resume", path), "cudann.train.epochs_completed is 2147483647; expected 0 to 1073741824");
    }

    [Test]
    public void EpochsCompletedPastTheRequest_SaysToAskForMore()
    {
        string path = Edited("epochs-many", tensor: t => t.Name == "cudann.train.epochs_completed" ? SafetensorsEntry.FromInt64s(t.Name, [], [1_000_000]) : t);
        var run = Command("resume", path);
        Assert.That(run.Code, Is.EqualTo(CliApp.UsageError));
        Assert.That(run.Error, Does.Contain("has already completed 1000000 epochs"));
    }

    [Test]
    public void StepCountPastWhatACounterHolds_IsRefused()
    {
        string path = Edited("steps-max", tensor: t => t.Name == "cudann.optim.step" ? SafetensorsEntry.FromInt64s(t.Name, [], [long.MaxValue]) : t);
        AssertRefused(Command("resume", path), $"cudann.optim.step is {long.MaxValue}; expected 0 to {1L << 53}");
    }

    // A million-wide layer (6 GB if built), a 5,000-layer model, a 4-billion-parameter one, and a 52-million-parameter
    // model (0.8 GB with Adam's state) the file's tensors do not hold: each is refused from the metadata and the tensors'
    // shapes, before any model is built.
    [TestCase("eval", "784,1048576,10", "metadata cudann.widths '784,1048576,10' is not a list of widths from 1 to 65536")]
    [TestCase("predict", "784,1048576,10", "is not a list of widths from 1 to 65536")]
    [TestCase("export", "784,1048576,10", "is not a list of widths from 1 to 65536")]
    [TestCase("resume", "784,1048576,10", "is not a list of widths from 1 to 65536")]
    [TestCase("eval", "LAYERS", "lists 5001 widths: 5000 layers is more than the 64 an MLP may have")]
    [TestCase("resume", "LAYERS", "5000 layers is more than the 64")]
    [TestCase("eval", "784,65536,10", "tensor 'fc1.weight' has shape [32, 784], expected [65536, 784]")]
    [TestCase("resume", "784,65536,10", "tensor 'fc1.weight' has shape [32, 784], expected [65536, 784]")]
    [TestCase("export", "784,65536,65536,10", "784-65536-65536-10 has 4,347,133,962 parameters, more than the 268,435,456 an MLP may have")]
    public void WidthsAFileCannotHold_AreRefusedBeforeTheModelIsBuilt(string command, string widths, string expected)
    {
        if (widths == "LAYERS") widths = "784," + string.Join(",", Enumerable.Repeat("1", 4999)) + ",10";
        string path = Edited($"widths-{command}-{widths.Length}", new() { ["cudann.widths"] = widths });
        var run = Command(command, path);
        AssertRefused(run, expected);
        Assert.That(run.Error.Length, Is.LessThan(600), "the message quotes the metadata short");
    }

    [TestCase("eval")]
    [TestCase("predict")]
    [TestCase("export")]
    [TestCase("resume")]
    [TestCase("init")]
    public void ANaNWeight_IsNamedWithItsPosition(string command)
    {
        string path = Edited($"nan-{command}", tensor: t => WithValue(t, "fc1.weight", 3 * 784 + 17, float.NaN));
        AssertRefused(Command(command, path), "fc1.weight holds NaN at [3, 17]");
        Assert.That(File.Exists(_dir.File("out.safetensors")) || File.Exists(_dir.File("m.onnx")), Is.False, "nothing written");
    }

    [Test]
    public void AllowNonFinite_LoadsItAnyway()
    {
        string path = Edited("inf-allowed", tensor: t => WithValue(t, "fc2.bias", 4, float.PositiveInfinity));
        AssertRefused(Command("eval", path), "fc2.bias holds +Infinity at [4]");
        var run = Command("eval", path, "--allow-nonfinite");
        Assert.That(run.Code, Is.Zero, run.Error);
        Assert.That(run.Output, Does.Contain("Test Accuracy"));
    }

    [Test]
    public void NonFiniteOptimizerState_IsNamed()
    {
        string path = Edited("inf-moment", tensor: t => WithValue(t, "cudann.optim.exp_avg_sq", 5, float.NegativeInfinity));
        AssertRefused(Command("resume", path), "cudann.optim.exp_avg_sq holds -Infinity at [5]");
    }

    [TestCase("cudann.train.world_size", "-1", "metadata cudann.train.world_size '-1' is not a number of ranks (1 or more)")]
    [TestCase("cudann.train.world_size", "many", "metadata cudann.train.world_size 'many' is not a number of ranks")]
    [TestCase("cudann.train.task", "xyz", "metadata cudann.train.task 'xyz' is neither classification nor regression")]
    [TestCase("cudann.train.optimizer", "adagrad", "metadata cudann.train.optimizer 'adagrad' cannot be read")]
    [TestCase("cudann.train.lr", "Infinity", "metadata cudann.train.lr 'Infinity' cannot be read")]
    [TestCase("cudann.train.batch_size", "100000000", "metadata cudann.train.batch_size '100000000' cannot be read")]
    [TestCase("cudann.train.plan", "Fused", "metadata cudann.train.plan 'Fused' is not layers, epilogues or fused")]
    [TestCase("cudann.train.plan", "7", "metadata cudann.train.plan '7' is not layers, epilogues or fused")]
    public void MetadataOutOfRange_IsRefusedByResume(string key, string value, string expected)
    {
        string path = Edited($"meta-{key}-{value}", new() { [key] = value });
        AssertRefused(Command("resume", path), expected);
    }

    [Test]
    public void AnUnknownTask_IsRefusedByEvalToo()
    {
        string path = Edited("task-eval", new() { ["cudann.train.task"] = "xyz" });
        AssertRefused(Command("eval", path), "'xyz' is neither classification nor regression");
    }
}
