using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Optim;

/// <summary>
/// Parameter groups (PyTorch's param_groups) against PyTorch 1.13: Nn.Tests/References/param_groups.safetensors holds
/// SGD with momentum, Adam, and AdamW with amsgrad over two groups, the second with a learning rate and weight decay of
/// its own, stepped 8 times under a warm-up-then-cosine schedule, with both groups' rate at every step.
/// </summary>
/// <remarks>
/// Tolerances: the rates are float64 on the host in every fixture, PyTorch's recurrences in its order: 1e-14 relative.
/// The parameters: 1e-13 relative in float64 (the same arithmetic). In float32 an absolute 1e-5 of the summed rates:
/// each step moves a parameter by at most about its rate, and float32 rounds the moments, √v and the weight decay to
/// 6e-8 relative each, which Adam's division by √v can grow to ~1e-5 of a step.
/// </remarks>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class ParamGroupTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("param_groups.safetensors");

    private static readonly Dictionary<string, Func<ParamGroup[], Optimizer>> Cases = new()
    {
        ["sgd-momentum"] = groups => new SGD(groups, lr: 0.1, momentum: 0.9),
        ["adam"] = groups => new Adam(groups, lr: 0.01),
        ["adamw-amsgrad"] = groups => new AdamW(groups, lr: 0.01, amsgrad: true),
    };

    private static IEnumerable<string> CaseNames() => Cases.Keys;

    [TestCaseSource(nameof(CaseNames))]
    public void TwoGroupsUnderASchedule_MatchPyTorch(string name)
    {
        var file = Reference;
        double[] start = file.Get("start").ToDoubleArray(), grads = file.Get("grads").ToDoubleArray();
        var a = new Parameter(OnDevice(Tensor.FromArray(start[..3], [3])));
        var b = new Parameter(OnDevice(Tensor.FromArray(start[3..], [2])));
        using var optimizer = Cases[name]([new ParamGroup([a]), new ParamGroup([b], Lr: 0.02, WeightDecay: 0.05)]);
        var schedule = new SequentialLR(optimizer,
            [new LinearLR(optimizer, startFactor: 0.1, totalIters: 3), new CosineAnnealingLR(optimizer, tMax: 6, etaMin: 0.005)], milestones: [3]);

        var rates = new List<double>();
        int steps = (int)file.Get("grads").Shape[0];
        for (int step = 0; step < steps; step++)
        {
            rates.AddRange(optimizer.Groups.Select(g => g.LearningRate));
            optimizer.ZeroGrad();
            using (var ga = Slice(grads, 5 * step, 3)) ga.Backend.Copy(ga, a.Grad);
            using (var gb = Slice(grads, 5 * step + 3, 2)) gb.Backend.Copy(gb, b.Grad);
            optimizer.Step();
            schedule.Step();
        }

        Close.Assert(file.Get(name + ".rates").ToDoubleArray(), rates, 0, 1e-14, "both groups' rate at every step");
        double[] actual = [.. ReferenceFiles.Values(a.Value), .. ReferenceFiles.Values(b.Value)];
        double summedRates = rates.Max() * steps;
        Close.Assert(file.Get(name).ToDoubleArray(), actual, Exact ? 1e-15 : 1e-5 * summedRates, Exact ? 1e-13 : 0, "parameters after 8 steps");
        Assert.That(optimizer.Groups.Select(g => g.WeightDecay), Is.EqualTo(new[] { name == "adamw-amsgrad" ? 1e-2 : 0, 0.05 }));
    }

    [Test]
    public void GroupsSurviveACheckpoint_AndSettingsAreChecked()
    {
        using var dir = new TempDirectory();
        using var model = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2)).To(DType).To(Device);
        ParamGroup[] Groups(Module m) => [new ParamGroup(((Sequential)m)[0].Parameters()), new ParamGroup(((Sequential)m)[2].Parameters(), Lr: 0.5, WeightDecay: 0.1)];
        using var sgd = new SGD(Groups(model), lr: 0.1, momentum: 0.9);
        var schedule = new ExponentialLR(sgd, gamma: 0.5);
        schedule.Step();
        sgd.Groups[0].WeightDecay = 0.25;
        string path = dir.File("g.safetensors");
        TrainingCheckpoint.Save(path, model, sgd, new TrainingPosition(1, [1, 2, 3, 4], []), scheduler: schedule);

        using var restored = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2)).To(DType).To(Device);
        using var restoredSgd = new SGD(Groups(restored), lr: 0.1, momentum: 0.9);
        var restoredSchedule = new ExponentialLR(restoredSgd, gamma: 0.5);
        TrainingCheckpoint.Load(SafetensorsReader.Read(path), restored, restoredSgd, restoredSchedule);
        Assert.That(restoredSgd.Groups.Select(g => (g.LearningRate, g.WeightDecay, g.InitialLearningRate)),
            Is.EqualTo(new[] { (0.05, 0.25, (double?)0.1), (0.25, 0.1, (double?)0.5) }), "rates after one schedule step, weight decays, initial rates");
        restoredSchedule.Step();
        Assert.That(restoredSchedule.LastLearningRates, Is.EqualTo(new[] { 0.025, 0.125 }), "the schedule continues each group from its own rate");

        using var oneGroup = new SGD(restored.Parameters(), lr: 0.1, momentum: 0.9);
        Assert.Throws<CheckpointFormatException>(() => TrainingCheckpoint.Load(SafetensorsReader.Read(path), restored, oneGroup));

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => sgd.Groups[1].LearningRate = -1)!.Message, Does.Contain("invalid learning rate"));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new Adam([new ParamGroup([])]))!.Message, Does.Contain("group 0 is empty"));
        var shared = model.Parameters()[0];
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new SGD([new ParamGroup([shared]), new ParamGroup([shared])]))!.Message,
            Does.Contain("more than once"));
        sgd.LearningRate = 0.3;
        Assert.That(sgd.Groups.Select(g => g.LearningRate), Is.All.EqualTo(0.3), "the optimizer's rate sets every group's");
    }

    private Tensor Slice(double[] values, int start, int count) => OnDevice(Tensor.FromArray(values[start..(start + count)], [count]));
}
