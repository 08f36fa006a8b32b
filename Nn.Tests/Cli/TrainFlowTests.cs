using CudaNn.Backends.Cuda;
using CudaNn.Checkpoints;
using CudaNn.Tests.Nn.Backends.Cuda;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>
/// The command line as a user runs it on the CUDA backend (the emulator in CI, a GPU where there is one), graphs on
/// and off: `train` for two epochs with evaluation after each, an uneven last batch, layer norms, dropout 0.1 and a learning-rate
/// schedule (warm-up, then half the rate), `--resume` for a third, which continues the schedule and the dropout masks,
/// then `eval` and `predict` of the result, each beside the same commands on the CPU reference backend.
/// </summary>
/// <remarks>
/// The weights may differ from the CPU's by 1% of the summed learning rates (15 steps of at most 1e-3; an Adam step moves a
/// weight by about lr at most, and the two backends differ only in the rounding of their GEMM sums, see
/// <see cref="CudaNn.Tests.Nn.Training.TrainingFlowTests"/>), but for at most 0.1% of them, which may differ by up to the whole Σ lr:
/// Adam turns rounding noise in a near-zero gradient into a share of lr (see <see cref="Close.AssertAlmostAll"/>).
/// </remarks>
[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class TrainFlowTests(string device) : CudaDeviceFixture(device)
{
    private const double SummedRates = 15 * 1e-3;
    private const double WeightTolerance = 0.01 * SummedRates;

    [TestCase(false)]
    [TestCase(true)]
    public void TrainResumeEvalPredict_MatchTheCpuReference(bool noGraphs)
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 300, 500); // 300 digits at batch 64: four batches and one of 44, five steps an epoch
        string[] graphs = noGraphs ? ["--no-graphs"] : [];
        var onDevice = Flow(dir, data, Device.Name, graphs);
        var onCpu = Flow(dir, data, "cpu", []);

        Assert.That(onDevice.Outputs[0], Does.Contain("Epoch 2/2").And.Contain($"device {Device.Name}"));
        Assert.That(onDevice.Outputs[1], Does.Contain("Epoch 3/3").And.Not.Contain("Epoch 2/").And.Contain("relu layernorm dropout 0.1"));
        // Epoch 1 warms up at half the rate, epoch 2 runs at the full rate, epoch 3 (after the resume) at half again.
        Assert.That(onDevice.Outputs[0], Does.Contain("lr 0.0005\n").And.Contain("lr 0.001\n"));
        Assert.That(onDevice.Outputs[1], Does.Contain("scheduled by SequentialLR").And.Contain("lr 0.0005\n"));
        Assert.That(TestAccuracy(onDevice.Outputs[2]), Is.EqualTo(TestAccuracy(onDevice.Outputs[1])), "eval repeats train's last test accuracy");
        Assert.That(Math.Abs(TestAccuracy(onDevice.Outputs[1]) - TestAccuracy(onCpu.Outputs[1])), Is.LessThanOrEqualTo(0.4),
            "test accuracy within two of 500 digits of the CPU's");
        Assert.That(PredictedLabel(onDevice.Outputs[3]), Is.EqualTo(PredictedLabel(onCpu.Outputs[3])), "predict's answer for test image 3");

        var expected = SafetensorsReader.Read(onCpu.Checkpoint);
        var actual = SafetensorsReader.Read(onDevice.Checkpoint);
        string[] names = ["fc1.weight", "fc1.bias", "norm1.weight", "norm1.bias", "fc2.weight", "fc2.bias", "norm2.weight", "norm2.bias", "fc3.weight", "fc3.bias"];
        Close.AssertAlmostAll(names.SelectMany(n => expected.Get(n).ToFloatArray()).ToArray(),
            names.SelectMany(n => actual.Get(n).ToFloatArray()).ToArray(), WeightTolerance, SummedRates, 0.001, "all weights after 3 epochs");
    }

    /// <summary>
    /// train --precision tf32 or bf16: GEMMs in TF32 or BF16 (rounded inputs on the emulator, tensor cores on a GPU) learn
    /// what the CPU's float32 learns: the last training loss and the test loss within 1% (2% for BF16, whose inputs keep
    /// 3 bits fewer; ten steps in, the accuracy is still steep
    /// enough to move by several digits; TF32 flips the smallest gradients, so single weights are not comparable, see
    /// BackendComparison). The device is back in FP32 afterwards.
    /// </summary>
    [TestCase("tf32", 1.0)]
    [TestCase("bf16", 2.0)]
    public void TrainInReducedPrecision_LearnsWhatTheCpuLearns_AndLeavesTheDeviceInFp32(string precision, double percent)
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 300, 500);
        string[] common = ["train", "--data", data, "--epochs", "2", "--seed", "4"];
        var reduced = Run([.. common, "--device", Device.Name, "--precision", precision, "--save", dir.File("reduced.safetensors")]);
        var cpu = Run([.. common, "--device", "cpu", "--save", dir.File("cpu.safetensors")]);
        Assert.That(reduced.Code, Is.Zero, reduced.Error);
        Assert.That(reduced.Output, Does.Contain($"device {Device.Name} ({precision.ToUpperInvariant()} GEMMs)"));
        Assert.That(LastLoss(reduced.Output), Is.EqualTo(LastLoss(cpu.Output)).Within(percent).Percent, "last training loss");
        Assert.That(TestLoss(reduced.Output), Is.EqualTo(TestLoss(cpu.Output)).Within(percent).Percent, "test loss");
        Assert.That(Device.Precision, Is.EqualTo(Precision.FP32));
        var refused = Run([.. common, "--device", "cpu", "--precision", precision, "--save", dir.File("x.safetensors")]);
        Assert.That(refused.Code, Is.EqualTo(2));
        Assert.That(refused.Error, Does.Contain($"--precision {precision} is GPU arithmetic (tensor cores); cpu computes in FP32"));
    }

    /// <summary>
    /// A pinned --plan is shown (header, --json), recorded in the checkpoint and replayed by a resume that does not name
    /// one, so the resumed run ends bit-identical to the uninterrupted one; naming another is refused with both; on the
    /// CPU, where the fused plan cannot run, the resume says so and continues layer by layer.
    /// </summary>
    [Test]
    public void APinnedPlan_IsShownRecordedAndReplayedByAResume_BitForBit()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 300, 500);
        string[] common = ["train", "--data", data, "--seed", "5"];
        string three = dir.File("three.safetensors"), two = dir.File("two.safetensors"), resumed = dir.File("resumed.safetensors");
        var uninterrupted = Run([.. common, "--device", Device.Name, "--plan", "fused", "--epochs", "3", "--json", "--save", three]);
        var first = Run([.. common, "--device", Device.Name, "--plan", "fused", "--epochs", "2", "--save", two]);
        var second = Run([.. common, "--device", Device.Name, "--resume", two, "--epochs", "3", "--save", resumed]);
        Assert.That((uninterrupted.Code, first.Code, second.Code), Is.EqualTo((0, 0, 0)), uninterrupted.Error + first.Error + second.Error);

        Assert.That(uninterrupted.Output, Does.Contain("\"event\":\"epoch\"").And.Contain("\"plan\":\"fused\""));
        Assert.That(first.Output, Does.Contain($"device {Device.Name}, plan fused"));
        Assert.That(second.Output, Does.Contain($"device {Device.Name}, plan fused"), "the resume replays the recorded plan");
        Assert.That(SafetensorsReader.Read(two).Metadata["cudann.train.plan"], Is.EqualTo("fused"));
        var expected = SafetensorsReader.Read(three);
        var actual = SafetensorsReader.Read(resumed);
        foreach (string name in new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" })
            Assert.That(actual.Get(name).ToFloatArray(), Is.EqualTo(expected.Get(name).ToFloatArray()), $"{name}: 2 + 1 epochs against 3");
        Assert.That(Device.Plan, Is.EqualTo(CudaNn.Backends.StepPlan.Layers), "the device's plan is put back");

        var other = Run([.. common, "--device", Device.Name, "--resume", two, "--plan", "epilogues", "--epochs", "3", "--save", dir.File("x.safetensors")]);
        Assert.That(other.Code, Is.EqualTo(2));
        Assert.That(other.Error, Does.Contain("--plan epilogues differs from the checkpoint's fused"));
        var onCpu = Run([.. common, "--device", "cpu", "--resume", two, "--epochs", "3", "--save", dir.File("cpu.safetensors")]);
        Assert.That(onCpu.Code, Is.Zero, onCpu.Error);
        Assert.That(onCpu.Output, Does.Contain("was trained with --plan fused, which does not apply here").And.Contain("not be bit-identical"));
        var pinnedOnCpu = Run([.. common, "--device", "cpu", "--plan", "fused", "--epochs", "1", "--save", dir.File("y.safetensors")]);
        Assert.That(pinnedOnCpu.Code, Is.EqualTo(2));
        Assert.That(pinnedOnCpu.Error, Does.Contain("--plan fused does not apply here: the fused MLP kernels need a GPU or the emulator, not cpu"));
    }

    /// <summary>
    /// --plan auto times every plan that applies (a table here: the emulator's own times are not a GPU's), says which it
    /// chose and why (text and --json), and records it; its run equals the run pinned to that plan bit for bit; a later
    /// run of the same model and batch takes the remembered choice without timing, and a resume replays the recorded
    /// plan without tuning, ending bit-identical to the uninterrupted run. The emulator's default is layers, untuned.
    /// </summary>
    [Test]
    public void PlanAuto_ChoosesByTiming_SaysAndRecordsIt_AndAResumeReplaysIt_BitForBit()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 300, 500);
        string[] common = ["train", "--data", data, "--seed", "6", "--device", Device.Name];
        string three = dir.File("three.safetensors"), pinned = dir.File("pinned.safetensors"), two = dir.File("two.safetensors"), resumed = dir.File("resumed.safetensors");
        var table = new Dictionary<CudaNn.Backends.StepPlan, double>
        {
            [CudaNn.Backends.StepPlan.Layers] = 90, [CudaNn.Backends.StepPlan.Epilogues] = 40, [CudaNn.Backends.StepPlan.Fused] = 60,
        };
        TableTimer Tuning() => new(table);
        CudaNn.Training.PlanTuning Options(TableTimer timer) => new() { Timer = timer, MaxReplays = 2, CacheFile = dir.File("plans.json") };

        var tuning = Tuning();
        var auto = Run(Options(tuning), [.. common, "--plan", "auto", "--epochs", "3", "--json", "--save", three]);
        Assert.That(auto.Code, Is.Zero, auto.Error);
        Assert.That(tuning.StepsRun, Is.GreaterThan(0), "the plans were timed");
        var choice = System.Text.Json.JsonDocument.Parse(auto.Output.Split('\n').Single(l => l.Contains("\"event\":\"plan\""))).RootElement;
        Assert.That(choice.GetProperty("plan").GetString(), Is.EqualTo("epilogues"));
        Assert.That(choice.GetProperty("from_cache").GetBoolean(), Is.False);
        Assert.That(choice.GetProperty("timings").EnumerateArray().Select(t => (t.GetProperty("plan").GetString(), t.GetProperty("microseconds_per_step").GetDouble())),
            Is.EqualTo(new[] { ("layers", 90.0), ("epilogues", 40.0), ("fused", 60.0) }));
        Assert.That(auto.Output, Does.Contain("\"event\":\"epoch\"").And.Contain("\"plan\":\"epilogues\""), "the epochs ran the chosen plan");
        Assert.That(SafetensorsReader.Read(three).Metadata["cudann.train.plan"], Is.EqualTo("epilogues"), "recorded in the checkpoint");

        var untimed = Tuning();
        var pin = Run(Options(untimed), [.. common, "--plan", "epilogues", "--epochs", "3", "--save", pinned]);
        Assert.That(pin.Code, Is.Zero, pin.Error);
        Assert.That(untimed.StepsRun, Is.Zero, "a pinned plan is not tuned");
        AssertSameWeights(pinned, three, "the pinned run against the tuned one");

        var remembered = Tuning();
        var first = Run(Options(remembered), [.. common, "--plan", "auto", "--epochs", "2", "--save", two]);
        Assert.That(first.Code, Is.Zero, first.Error);
        Assert.That(first.Output, Does.Contain($"device {Device.Name}, plan epilogues (auto)")
            .And.Contain("plan epilogues: 40.0 µs a step (layers 90.0, fused 60.0), as tuned by an earlier run"));
        Assert.That(remembered.StepsRun, Is.Zero, "the choice came from the cache");

        var replay = Tuning();
        var second = Run(Options(replay), [.. common, "--resume", two, "--epochs", "3", "--save", resumed]);
        Assert.That(second.Code, Is.Zero, second.Error);
        Assert.That(second.Output, Does.Contain($"device {Device.Name}, plan epilogues\n").And.Not.Contain("(auto)"), "the resume replays the recorded plan");
        Assert.That(replay.StepsRun, Is.Zero, "a resume does not tune");
        AssertSameWeights(resumed, three, "2 + 1 epochs against 3");

        if (Device.Kind == CudaNn.DeviceKind.Emulator)
        {
            var untuned = Tuning();
            var byDefault = Run(Options(untuned), [.. common, "--epochs", "1", "--max-steps", "2", "--save", dir.File("default.safetensors")]);
            Assert.That(byDefault.Output, Does.Contain("plan layers\n"), "the emulator's default");
            Assert.That(untuned.StepsRun, Is.Zero);
        }
    }

    private static void AssertSameWeights(string actualPath, string expectedPath, string what)
    {
        var expected = SafetensorsReader.Read(expectedPath);
        var actual = SafetensorsReader.Read(actualPath);
        foreach (string name in new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" })
            Assert.That(actual.Get(name).ToFloatArray(), Is.EqualTo(expected.Get(name).ToFloatArray()), $"{name}: {what}");
    }

    private static double TestLoss(string output) =>
        double.Parse(output.Split("Epoch 2/2: ")[^1].Split("test loss ")[1].Split(')')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static double LastLoss(string output) =>
        double.Parse(output.Split("Epoch 2/2: loss ")[^1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>train 2 epochs, resume to 3, eval, predict; returns the four outputs and the final checkpoint.</summary>
    private static (string[] Outputs, string Checkpoint) Flow(TempDirectory dir, string data, string device, string[] extra)
    {
        string first = dir.File($"{device}-2.safetensors"), last = dir.File($"{device}-3.safetensors");
        string[] common = ["--data", data, "--device", device];
        var outputs = new List<string>();
        foreach (string[] args in new string[][]
        {
            ["train", .. common, "--epochs", "2", "--seed", "11", "--lr-schedule", "linear:0.5:1:1@2,constant:0.5:5", "--dropout", "0.1", "--layer-norm", "--save", first, .. extra],
            ["train", .. common, "--resume", first, "--epochs", "3", "--save", last, .. extra],
            ["eval", .. common, "--checkpoint", last],
            ["predict", .. common, "--checkpoint", last, "--index", "3"],
        })
        {
            var (code, output, error) = Run(args);
            Assert.That(code, Is.Zero, $"CudaNn {string.Join(' ', args)}: {error}");
            outputs.Add(output);
        }
        return (outputs.ToArray(), last);
    }

    private static double TestAccuracy(string output) =>
        double.Parse(output.Split("Test Accuracy: ")[^1].Split('%')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static string PredictedLabel(string output) =>
        output.Split('\n').First(line => line.Contains("predicted", StringComparison.OrdinalIgnoreCase)).Trim();
}
