using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Optim;

/// <summary>
/// Three steps of each optimizer from fixed parameters and gradients, in float64, against PyTorch 1.13: the start,
/// the gradients and PyTorch's results are in Nn.Tests/References/optimizers.safetensors (make_references.py wrote it),
/// one entry per case below, named as the case; a case with a ".rates" entry sets that learning rate before each
/// step, as a schedule sets param_groups[0]["lr"].
/// </summary>
public class OptimizerTests
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("optimizers.safetensors");

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("adam", ps => new Adam(ps, lr: 0.01));
        yield return Case("adam-betas-eps-wd", ps => new Adam(ps, lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1));
        yield return Case("adamw", ps => new AdamW(ps, lr: 0.01, weightDecay: 0.1));
        yield return Case("adam-amsgrad", ps => new Adam(ps, lr: 0.01, amsgrad: true));
        yield return Case("adamw-amsgrad", ps => new AdamW(ps, lr: 0.01, weightDecay: 0.1, amsgrad: true));
        yield return Case("sgd", ps => new SGD(ps, lr: 0.1));
        yield return Case("sgd-momentum-dampening-wd", ps => new SGD(ps, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01));
        yield return Case("sgd-nesterov-wd", ps => new SGD(ps, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01));
        yield return Case("adam-lr-schedule", ps => new Adam(ps, lr: 0.01));
        yield return Case("sgd-momentum-lr-schedule", ps => new SGD(ps, lr: 0.1, momentum: 0.9));
    }

    private static TestCaseData Case(string name, Func<IEnumerable<Parameter>, Optimizer> make) =>
        new TestCaseData(name, make).SetName(name);

    [TestCaseSource(nameof(Cases))]
    public void ThreeSteps_MatchPyTorch(string name, Func<IEnumerable<Parameter>, Optimizer> make)
    {
        var file = Reference;
        double[] start = file.Get("start").ToDoubleArray(), grads = file.Get("grads").ToDoubleArray();
        double[]? rates = file.Find(name + ".rates")?.ToDoubleArray();
        // Two parameters (3 + 2 elements) so the flat packing across parameters is exercised too.
        var a = new Parameter(Tensor.FromArray(start[..3], [3]));
        var b = new Parameter(Tensor.FromArray(start[3..], [2]));
        using var opt = make([a, b]);
        for (int step = 0; step < 3; step++)
        {
            if (rates is not null) opt.LearningRate = rates[step];
            opt.ZeroGrad();
            a.Grad.CopyFrom<double>(grads.AsSpan(5 * step, 3));
            b.Grad.CopyFrom<double>(grads.AsSpan(5 * step + 3, 2));
            opt.Step();
        }
        double[] actual = [.. a.Value.ToArray<double>(), .. b.Value.ToArray<double>()];
        // The same float64 arithmetic as PyTorch's, in its order: a few units of rounding (2^-52) at most.
        Close.Assert(file.Get(name).ToDoubleArray(), actual, 1e-15, 1e-13, "parameters after three steps");
        if (rates is not null) Assert.That(opt.LearningRate, Is.EqualTo(rates[^1]));
    }

    [Test]
    public void Parameters_StartOn16Bytes_AndCheckpointsHoldTheStateWithoutTheGaps()
    {
        using var dir = new TempDirectory();
        Parameter[] Make() => [.. new[] { 3, 5, 2 }.Select(n => new Parameter(Tensor.FromArray(Seeded.Uniform(Seeded.Generator(72 + (ulong)n), n).Select(v => (float)v).ToArray(), [n])))];
        var parameters = Make();
        using var adam = new Adam(parameters, lr: 0.01);
        var first = parameters[0].Value;
        foreach (var p in parameters)
        {
            Assert.That(p.Value.Offset * sizeof(float) % 16, Is.Zero, $"{p}'s value");
            Assert.That(p.GradStorage.Offset * sizeof(float) % 16, Is.Zero, $"{p}'s gradient");
        }
        Assert.That(parameters.Select(p => p.Value.Offset - first.Offset), Is.EqualTo(new long[] { 0, 4, 12 }), "3 floats, a gap of 1, 5, a gap of 3, 2");
        void Step(Parameter[] ps, int seed)
        {
            var gradients = Seeded.Uniform(Seeded.Generator((ulong)seed), 10);
            foreach (var (p, at) in ps.Zip(new[] { 0, 3, 8 }))
                p.Grad.CopyFrom<float>(gradients.Skip(at).Take((int)p.Numel).Select(v => (float)v).ToArray());
        }
        for (int s = 0; s < 2; s++)
        {
            adam.ZeroGrad();
            Step(parameters, s);
            adam.Step();
        }
        using var model = new ParameterHolder(parameters);
        string path = dir.File("a.safetensors");
        TrainingCheckpoint.Save(path, model, adam, new TrainingPosition(1, [1, 2, 3, 4], []));
        var file = SafetensorsReader.Read(path);
        float[] saved = file.GetFloats("cudann.optim.exp_avg");
        float[] flat = adam.ExpAvg.ToArray<float>();
        Assert.That(saved, Is.EqualTo(new[] { flat[0], flat[1], flat[2], flat[4], flat[5], flat[6], flat[7], flat[8], flat[12], flat[13] }),
            "each parameter's moments, in order, without the gaps");
        Assert.That(new[] { flat[3], flat[9], flat[10], flat[11] }, Is.All.Zero, "the gaps stay zero");

        var restored = Make();
        using var restoredModel = new ParameterHolder(restored);
        using var resumed = new Adam(restored, lr: 0.01);
        TrainingCheckpoint.Load(file, restoredModel, resumed);
        foreach (var (optimizer, ps) in new[] { (adam, parameters), (resumed, restored) })
        {
            optimizer.ZeroGrad();
            Step(ps, 2);
            optimizer.Step();
        }
        Assert.That(restored.SelectMany(p => p.Value.ToArray<float>()), Is.EqualTo(parameters.SelectMany(p => p.Value.ToArray<float>())), "resumed bit for bit");
    }


    [Test]
    public void Options_AreCheckedWhenSet_AndSgdMomentumCannotAppearOrVanish()
    {
        var p = new Parameter(Tensor.Zeros([1]));
        using var adam = new Adam([p]);
        Assert.That(() => adam.Options = adam.Options with { Beta2 = 1.0 },
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("beta2"));
        Assert.That(() => adam.LearningRate = -1, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("learning rate"));
        Assert.That(adam.LearningRate, Is.EqualTo(1e-3), "a refused value changes nothing");
        Assert.That(() => adam.Options = adam.Options with { Amsgrad = true },
            Throws.ArgumentException.With.Message.Contains("amsgrad is fixed"));
        Assert.That(adam.StateBuffers().Keys, Is.EquivalentTo(new[] { "exp_avg", "exp_avg_sq" }));
        using var amsgrad = new Adam([new Parameter(Tensor.Zeros([1]))], amsgrad: true);
        Assert.That(amsgrad.StateBuffers().Keys, Is.EquivalentTo(new[] { "exp_avg", "exp_avg_sq", "max_exp_avg_sq" }), "saved in checkpoints");

        using var plain = new SGD([p], lr: 0.1);
        Assert.That(() => plain.Options = plain.Options with { Momentum = 0.9 },
            Throws.ArgumentException.With.Message.Contains("momentum cannot change from 0 to 0.9"));
        using var heavy = new SGD([p], lr: 0.1, momentum: 0.9);
        heavy.Options = heavy.Options with { Momentum = 0.5, Lr = 0.2 };
        Assert.That(heavy.Options, Is.EqualTo(new SgdOptions(0.2, 0.5)));
        Assert.That(() => heavy.Options = heavy.Options with { Momentum = 0 },
            Throws.ArgumentException.With.Message.Contains("momentum cannot change from 0.5 to 0"));
    }

    [Test]
    public void AdamFirstStep_WorkedByHand()
    {
        // Step 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps) = lr * sign(g) (nearly).
        var p = new Parameter(Tensor.FromArray(new[] { 1.0, 1.0 }, [2]));
        using var opt = new Adam([p], lr: 0.5, eps: 1e-8);
        p.Grad.CopyFrom<double>([2.0, -4.0]);
        opt.Step();
        Close.Assert([1 - 0.5 * 2 / (2 + 1e-8), 1 + 0.5 * 4 / (4 + 1e-8)], p.Value.ToArray<double>(), 1e-15, 0, "p");
    }

    [Test]
    public void SgdMomentumFirstTwoSteps_WorkedByHand()
    {
        // buf1 = g1 = 1; p1 = 0 - 0.1 * 1 = -0.1. buf2 = 0.5 * 1 + 1 * 3 = 3.5; p2 = -0.1 - 0.1 * 3.5 = -0.45.
        var p = new Parameter(Tensor.FromArray(new[] { 0.0 }, [1]));
        using var opt = new SGD([p], lr: 0.1, momentum: 0.5);
        p.Grad.CopyFrom<double>([1.0]);
        opt.Step();
        Close.Assert(-0.1, p.Value.Item(), 1e-16, 0, "after step 1");
        p.Grad.CopyFrom<double>([3.0]);
        opt.Step();
        Close.Assert(-0.45, p.Value.Item(), 1e-16, 0, "after step 2");
    }

    [TestCase(-1.0)]
    [TestCase(double.NaN)]
    public void InvalidLearningRate_Throws(double lr)
    {
        var p = new Parameter(Tensor.Zeros([1]));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], lr: lr));
        Assert.That(ex!.Message, Does.Contain("learning rate"));
    }

    [Test]
    public void NesterovWithoutMomentum_Throws()
    {
        var p = new Parameter(Tensor.Zeros([1]));
        Assert.Throws<ArgumentException>(() => new SGD([p], lr: 0.1, nesterov: true));
    }
}
