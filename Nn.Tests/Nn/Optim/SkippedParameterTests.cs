using CudaNn.Checkpoints;
using CudaNn.Distributed;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Optim;

/// <summary>
/// A parameter without a gradient since ZeroGrad (PyTorch's grad of None) is skipped by Step: no weight decay, no
/// momentum, moments and step count untouched. Against PyTorch 1.13: Nn.Tests/References/skipped_parameters.safetensors
/// holds three parameters (3, 2 and 2 elements; the first two one group, the third another with its own rate) stepped
/// six times with a gradient for only some of them each time ("given"), and Adam's step count per parameter.
/// </summary>
/// <remarks>
/// Tolerances as <see cref="ParamGroupTests"/>: 1e-13 relative in float64 (PyTorch's arithmetic in its order); in float32
/// an absolute 1e-5 of the summed rates (each step moves a parameter by at most about its rate, and float32 rounds the
/// moments and √v to 6e-8 relative each).
/// </remarks>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class SkippedParameterTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("skipped_parameters.safetensors");

    private static readonly Dictionary<string, Func<ParamGroup[], Optimizer>> Cases = new()
    {
        ["adam-wd"] = groups => new Adam(groups, lr: 0.01, weightDecay: 0.1),
        ["adamw-amsgrad"] = groups => new AdamW(groups, lr: 0.01, weightDecay: 0.1, amsgrad: true),
        ["sgd-momentum-dampening-wd"] = groups => new SGD(groups, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        ["sgd-nesterov-wd"] = groups => new SGD(groups, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
    };

    private static IEnumerable<string> CaseNames() => Cases.Keys;

    private static readonly (int Start, int Length)[] Spans = [(0, 3), (3, 2), (5, 2)];

    private Parameter[] StartingParameters() =>
        Spans.Select(s => new Parameter(OnDevice(Tensor.FromArray(Reference.Get("start").ToDoubleArray()[s.Start..(s.Start + s.Length)], [s.Length])))).ToArray();

    private static Optimizer Make(string name, Parameter[] p) => Cases[name]([new ParamGroup([p[0], p[1]]), new ParamGroup([p[2]], Lr: 0.02)]);

    /// <summary>Steps <paramref name="first"/> to <paramref name="end"/> of the reference: a gradient, written by hand, for each parameter "given" marks.</summary>
    private void Steps(Optimizer optimizer, Parameter[] parameters, int first, int end)
    {
        double[] grads = Reference.Get("grads").ToDoubleArray();
        long[] given = Reference.GetInt64s("given");
        for (int step = first; step < end; step++)
        {
            optimizer.ZeroGrad();
            for (int i = 0; i < 3; i++)
            {
                if (given[step * 3 + i] == 0) continue;
                using var g = OnDevice(Tensor.FromArray(grads[(step * 7 + Spans[i].Start)..(step * 7 + Spans[i].Start + Spans[i].Length)], [Spans[i].Length]));
                g.Backend.Copy(g, parameters[i].Grad);
            }
            optimizer.Step();
        }
    }

    private double[] Values(Parameter[] parameters) => parameters.SelectMany(p => ReferenceFiles.Values(p.Value)).ToArray();

    [TestCaseSource(nameof(CaseNames))]
    public void SixStepsWithSomeGradientsMissing_MatchPyTorch(string name)
    {
        var parameters = StartingParameters();
        using var optimizer = Make(name, parameters);
        Steps(optimizer, parameters, 0, 6);
        Close.Assert(Reference.Get(name).ToDoubleArray(), Values(parameters), Exact ? 1e-15 : 1e-5 * 0.1 * 6, Exact ? 1e-13 : 0, "parameters after six steps");
        Assert.That(optimizer.StepCount, Is.EqualTo(6), "Step was called six times");
        if (Reference.Find(name + ".steps") is { } steps)
            Assert.That(optimizer.ParameterStepCounts(), Is.EqualTo(steps.ToInt64Array()), "each parameter's own step count, as PyTorch's state[p]['step']");
    }

    [TestCaseSource(nameof(CaseNames))]
    public void ZeroGradThenStep_MovesNothing(string name)
    {
        var parameters = StartingParameters();
        using var optimizer = Make(name, parameters);
        Steps(optimizer, parameters, 0, 1);
        double[] before = Values(parameters);
        var state = optimizer.StateBuffers().ToDictionary(b => b.Key, b => ReferenceFiles.Values(b.Value));
        optimizer.ZeroGrad();
        optimizer.Step();
        Assert.That(Values(parameters), Is.EqualTo(before), "no gradient: no weight decay, no momentum");
        foreach (var (key, buffer) in optimizer.StateBuffers())
            Assert.That(ReferenceFiles.Values(buffer), Is.EqualTo(state[key]), $"{key} untouched");
        Assert.That(optimizer.ParameterStepCounts(), Is.EqualTo(new long[] { 1, 1, 1 }));
    }

    [Test]
    public void ABackwardThatReachesOneLayer_StepsThatLayerAlone()
    {
        using var first = (Linear)new Linear(3, 4, generator: Seeded.Generator(31)).To(DType).To(Device);
        using var second = (Linear)new Linear(4, 2, generator: new Generator(32)).To(DType).To(Device);
        using var optimizer = new SGD([.. first.Parameters(), .. second.Parameters()], lr: 0.1, momentum: 0.9, weightDecay: 0.01);
        using var x = OnDevice(Tensor.FromArray(new double[] { 1, -2, 0.5, 3, 0.25, -1, 2, 1.5 }, [2, 4]));
        for (int step = 0; step < 2; step++)
        {
            optimizer.ZeroGrad();
            var y = second.Forward(x);
            using var dy = OnDevice(Tensor.FromArray(new double[] { 1, -1, 0.5, 2 }, [2, 2]));
            second.Backward(dy);
            optimizer.Step();
        }
        using var fresh = (Linear)new Linear(3, 4, generator: new Generator(31)).To(DType).To(Device);
        Assert.That(ReferenceFiles.Values(first.Weight.Value), Is.EqualTo(ReferenceFiles.Values(fresh.Weight.Value)), "the layer no backward reached");
        Assert.That(optimizer.ParameterStepCounts(), Is.EqualTo(new long[] { 0, 0, 2, 2 }));
    }

    [Test]
    public void ClippingEveryParameter_ClipsTheGradientsThatExist_AndGivesNoneToTheRest()
    {
        var parameters = StartingParameters();
        using var optimizer = Make("sgd-momentum-dampening-wd", parameters);
        Steps(optimizer, parameters, 0, 1);
        double[] before = Values(parameters);
        optimizer.ZeroGrad();
        using (var g = OnDevice(Tensor.FromArray(new double[] { 3, 0, -4 }, [3]))) g.Backend.Copy(g, parameters[0].Grad);
        // clip_grad_norm_ over all three: the norm is the one gradient's, 5, and the others stay without one.
        var norm = GradClipping.ClipGradNorm(parameters, maxNorm: 1);
        Assert.That(norm.Item(), Is.EqualTo(5).Within(1e-6));
        norm.Dispose();
        optimizer.Step();
        double[] after = Values(parameters);
        Assert.That(after[3..], Is.EqualTo(before[3..]), "the parameters without a gradient did not move");
        Assert.That(after[..3], Is.Not.EqualTo(before[..3]));
        Assert.That(optimizer.ParameterStepCounts(), Is.EqualTo(new long[] { 2, 1, 1 }));
    }

    [Test]
    public void ReadingAGradient_GivesTheParameterOne_AsAssigningZerosDoesInPyTorch()
    {
        var p = new Parameter(OnDevice(Tensor.FromArray(new double[] { 1, -2 }, [2])));
        using var optimizer = new SGD([p], lr: 0.5, weightDecay: 0.1);
        optimizer.ZeroGrad();
        Assert.That(ReferenceFiles.Values(p.Grad), Is.EqualTo(new double[] { 0, 0 }));
        optimizer.Step();
        // A zero gradient with weight decay 0.1 at rate 0.5: p -= 0.5 * 0.1 * p.
        Close.Assert([0.95, -1.9], ReferenceFiles.Values(p.Value), Exact ? 1e-15 : 1e-7, 0, "stepped on its zero gradient");
    }

    [TestCaseSource(nameof(CaseNames))]
    public void ACheckpointBetweenSkippedSteps_ResumesExactly(string name)
    {
        using var dir = new TempDirectory();
        var whole = StartingParameters();
        using (var optimizer = Make(name, whole)) Steps(optimizer, whole, 0, 6);

        var parameters = StartingParameters();
        using var model = new ParameterHolder(parameters);
        using (var optimizer = Make(name, parameters))
        {
            Steps(optimizer, parameters, 0, 3);
            TrainingCheckpoint.Save(dir.File("c.safetensors"), model, optimizer, new TrainingPosition(1, [1, 2, 3, 4], []));
        }
        var restored = StartingParameters();
        using var restoredModel = new ParameterHolder(restored);
        using var resumed = Make(name, restored);
        var file = SafetensorsReader.Read(dir.File("c.safetensors"));
        TrainingCheckpoint.Load(file, restoredModel, resumed);
        Assert.That(resumed.ParameterStepCounts(), Is.EqualTo(new long[] { 2, 1, 2 }), "the counts after steps 0-2");
        Steps(resumed, restored, 3, 6);
        Assert.That(Values(restored), Is.EqualTo(Values(whole)), "bit for bit the uninterrupted run");
        Assert.That(file.Metadata[TrainingCheckpoint.FormatVersionKey], Is.EqualTo("2"));
    }

    [Test]
    public void OlderAndNewerCheckpointFormats()
    {
        using var dir = new TempDirectory();
        var parameters = StartingParameters();
        using var model = new ParameterHolder(parameters);
        using var optimizer = Make("adam-wd", parameters);
        Steps(optimizer, parameters, 0, 2);
        string path = dir.File("c.safetensors");
        TrainingCheckpoint.Save(path, model, optimizer, new TrainingPosition(1, [1, 2, 3, 4], []));
        var file = SafetensorsReader.Read(path);

        SafetensorsFile Edited(Func<SafetensorsEntry, SafetensorsEntry?> tensor, Action<Dictionary<string, string>> metadata)
        {
            var edited = new Dictionary<string, string>(file.Metadata);
            metadata(edited);
            return new SafetensorsFile("edited.safetensors", file.Tensors.Select(tensor).OfType<SafetensorsEntry>().ToList(), edited);
        }
        // The first format had no version and one count: every parameter takes the optimizer's.
        var first = Edited(t => t.Name == "cudann.optim.param_step" ? null : t, m => m.Remove(TrainingCheckpoint.FormatVersionKey));
        TrainingCheckpoint.Load(first, model, optimizer);
        Assert.That(optimizer.ParameterStepCounts(), Is.EqualTo(new long[] { 2, 2, 2 }));

        var newer = Edited(t => t, m => m[TrainingCheckpoint.FormatVersionKey] = "3");
        Assert.That(() => TrainingCheckpoint.Load(newer, model, optimizer),
            Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("checkpoint format 3, newer than the 2 this CudaNn reads"));
        var ahead = Edited(t => t.Name == "cudann.optim.param_step" ? SafetensorsEntry.FromInt64s(t.Name, [3], [2, 3, 1]) : t, _ => { });
        Assert.That(() => TrainingCheckpoint.Load(ahead, model, optimizer),
            Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("cudann.optim.param_step[1] is 3; a parameter's steps are 0 to the optimizer's 2"));
    }
}

/// <summary>
/// Data-parallel ranks agree which parameters have gradients before they average them (DistributedDataParallel with
/// find_unused_parameters=True): in float64 on the CPU, two ranks of a threaded group.
/// </summary>
public class SkippedParameterDataParallelTests
{
    [Test]
    public void DataParallel_AParameterOneRankReached_IsAveragedWithZeros_AndOneNoRankReached_IsSkipped()
    {
        var groups = ThreadedProcessGroup.Create(2, TimeSpan.FromSeconds(60));
        var results = new double[2][];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            var parameters = Enumerable.Range(0, 3).Select(_ => new Parameter(Tensor.FromArray(new double[] { 1, 1 }, [2]))).ToArray();
            using var optimizer = new SGD(parameters, lr: 0.5, weightDecay: 0.1);
            optimizer.ZeroGrad();
            // Both ranks reach the first parameter, only rank 0 the second, no rank the third.
            parameters[0].Grad.Backend.Fill(parameters[0].Grad, rank + 1);
            if (rank == 0) parameters[1].Grad.Backend.Fill(parameters[1].Grad, 4);
            groups[rank].AverageGradients(optimizer);
            optimizer.Step();
            results[rank] = parameters.SelectMany(p => p.Value.ToArray<double>()).ToArray();
        })).ToList();
        threads.ForEach(t => t.Start());
        Assert.That(threads.All(t => t.Join(TimeSpan.FromSeconds(60))), "both ranks finished");
        // p -= 0.5 * (mean gradient + 0.1 * p): (1 + 2) / 2 = 1.5 for the first, (4 + 0) / 2 = 2 for the second.
        double[] expected = [1 - 0.5 * (1.5 + 0.1), 1 - 0.5 * (1.5 + 0.1), 1 - 0.5 * (2 + 0.1), 1 - 0.5 * (2 + 0.1), 1, 1];
        Close.Assert(expected, results[0], 1e-15, 0, "rank 0");
        Assert.That(results[1], Is.EqualTo(results[0]), "every rank steps alike");
    }
}
