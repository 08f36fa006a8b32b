using CudaNn.Nn;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Modules;

public class ModuleTests
{
    [Test]
    public void Linear_InitialisesWithinPyTorchsBound()
    {
        using var layer = new Linear(784, 128, generator: Seeded.Generator(5));
        double bound = 1 / Math.Sqrt(784);
        var w = layer.Weight.Value.ToArray<float>();
        Assert.That(layer.Weight.Shape.ToArray(), Is.EqualTo(new[] { 128, 784 }));
        Assert.That(w.Select(Math.Abs).Max(), Is.LessThanOrEqualTo(bound).And.GreaterThan(0.99 * bound));
        // U(-b, b) has mean 0 and variance b^2 / 3; with 100,352 draws both sit well inside these bounds.
        Assert.That(w.Average(v => (double)v), Is.EqualTo(0).Within(0.01 * bound));
        Assert.That(w.Average(v => (double)v * v), Is.EqualTo(bound * bound / 3).Within(0.02 * bound * bound));
    }

    [Test]
    public void SameSeed_SameWeights()
    {
        using var a = new Linear(5, 3, generator: new Generator(9));
        using var b = new Linear(5, 3, generator: new Generator(9));
        Assert.That(a.Weight.Value.ToArray<float>(), Is.EqualTo(b.Weight.Value.ToArray<float>()));
    }

    [Test]
    public void SequentialAdd_AppendsByPositionOrName_AndRunsTheWholeStack()
    {
        var g = new Generator(3);
        using var model = new Sequential(new Linear(4, 3, generator: g)).Add(new ReLU()).Add("head", new Linear(3, 2, generator: g));
        Assert.That(model.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "0.weight", "0.bias", "head.weight", "head.bias" }));
        Assert.That(model[1], Is.TypeOf<ReLU>());
        Assert.That(model[-1], Is.SameAs(model["head"]));
        using var x = Tensor.FromArray(new float[] { 1, -2, 3, 0.5f }, [1, 4]);
        float[] whole = model.Forward(x).ToArray<float>();
        float[] apart = model["head"].Forward(model[1].Forward(model[0].Forward(x))).ToArray<float>();
        Assert.That(whole, Is.EqualTo(apart).Within(1e-6), "the appended layers take part in Forward");

        Assert.That(Assert.Throws<ArgumentException>(() => model.Add("head", new ReLU()))!.Message, Does.Contain("'head' is used twice"));
        Assert.That(Assert.Throws<ArgumentException>(() => model.Add(model[1]))!.Message, Does.Contain("already in this Sequential"));
        Assert.That(Assert.Throws<KeyNotFoundException>(() => _ = model["fc9"])!.Message, Does.Contain("0, 1, head"));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = model[3]);
    }

    [Test]
    public void Summary_ListsEachLayersOutputShapeAndParameters_AndLeavesTheModeAlone()
    {
        using var model = new Sequential(("fc1", new Linear(784, 128)), ("norm1", new LayerNorm(128)), ("act1", new GELU()),
            ("drop1", new Dropout(0.2)), ("fc2", new Linear(128, 10)));
        string summary = model.Summary(64, 784);
        TestContext.Out.WriteLine(summary);
        string[] lines = summary.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[2], Does.Match(@"^fc1 \(Linear\)\s+\[64, 128\]\s+100,480$"), "784 x 128 weights + 128 biases");
        Assert.That(lines[3], Does.Match(@"^norm1 \(LayerNorm\)\s+\[64, 128\]\s+256$"));
        Assert.That(lines[4], Does.Match(@"^act1 \(GELU\)\s+\[64, 128\]\s+0$"));
        Assert.That(lines[5], Does.Match(@"^drop1 \(Dropout\)\s+\[64, 128\]\s+0$"));
        Assert.That(lines[6], Does.Match(@"^fc2 \(Linear\)\s+\[64, 10\]\s+1,290$"));
        Assert.That(lines[^1], Is.EqualTo("Total params: 102,026"));
        Assert.That(model.Training, Is.True, "still in training mode");
        Assert.That(((Dropout)model["drop1"]).Calls, Is.Zero, "the summary's forward drew no dropout mask");
    }

    [Test]
    public void NamedSequential_GivesPyTorchStateDictNames()
    {
        using var model = new Sequential(("fc1", new Linear(4, 3)), ("relu1", new ReLU()), ("fc2", new Linear(3, 2)));
        Assert.That(model.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }));
    }

    [Test]
    public void TrainAndEval_ReachEveryChild()
    {
        using var model = new Sequential(new Linear(2, 2), new ReLU());
        model.Eval();
        Assert.That(model.NamedChildren().All(c => !c.Module.Training) && !model.Training);
        model.Train();
        Assert.That(model.NamedChildren().All(c => c.Module.Training) && model.Training);
    }

    [Test]
    public void LoadStateDict_RoundTripsAndRejectsMismatches()
    {
        using var source = new Sequential(new Linear(3, 2, generator: new Generator(1)));
        using var target = new Sequential(new Linear(3, 2, generator: new Generator(2)));
        target.LoadStateDict(source.StateDict());
        Assert.That(target[0] is Linear l && l.Weight.Value.ToArray<float>().SequenceEqual(((Linear)source[0]).Weight.Value.ToArray<float>()));

        using var wider = new Sequential(new Linear(4, 2));
        var ex = Assert.Throws<ArgumentException>(() => wider.LoadStateDict(source.StateDict()));
        Assert.That(ex!.Message, Does.Contain("0.weight").And.Contain("[2, 3]").And.Contain("[2, 4]"));

        using var renamed = new Sequential(("fc1", new Linear(3, 2)));
        ex = Assert.Throws<ArgumentException>(() => renamed.LoadStateDict(source.StateDict()));
        Assert.That(ex!.Message, Does.Contain("missing [fc1.weight, fc1.bias]").And.Contain("unexpected [0.weight, 0.bias]"));
    }

    [Test]
    public void Float32AndFloat64_AgreeOnForwardAndGradients()
    {
        var g = Seeded.Generator(33);
        using var model32 = new Sequential(new Linear(20, 16, generator: g), new Tanh(), new Linear(16, 4, generator: g));
        using var model64 = new Sequential(new Linear(20, 16), new Tanh(), new Linear(16, 4)).To(DType.Float64);
        model64.LoadStateDict(model32.StateDict());
        var xs = Seeded.Uniform(g, 5 * 20);
        var dys = Seeded.Uniform(g, 5 * 4);
        using var x32 = Tensor.FromArray(xs.Select(v => (float)v).ToArray(), [5, 20]);
        using var x64 = Tensor.FromArray(xs.Select(v => (double)(float)v).ToArray(), [5, 20]);
        using var dy32 = Tensor.FromArray(dys.Select(v => (float)v).ToArray(), [5, 4]);
        using var dy64 = Tensor.FromArray(dys.Select(v => (double)(float)v).ToArray(), [5, 4]);

        var y32 = model32.Forward(x32).ToArray<float>().Select(v => (double)v).ToArray();
        var y64 = model64.Forward(x64).ToArray<double>();
        // float32 rounding over a 20-term reduction: errors of a few 1e-7 relative to values of order 1.
        Close.Assert(y64, y32, 1e-6, 1e-5, "forward");
        model32.Backward(dy32);
        model64.Backward(dy64);
        var g32 = model32.Parameters().SelectMany(p => p.Grad.ToArray<float>()).Select(v => (double)v).ToArray();
        var g64 = model64.Parameters().SelectMany(p => p.Grad.ToArray<double>()).ToArray();
        Close.Assert(g64, g32, 1e-6, 1e-5, "gradients");
    }

    [Test]
    public void Sequential_FusesLinearAndActivation_WithTheResultsOfRunningThemInTurn()
    {
        var g = Seeded.Generator(41);
        using var fused = new Sequential(new Linear(6, 5, generator: g), new Sigmoid(), new Linear(5, 3, generator: g), new ReLU());
        var (fc1, act1, fc2, act2) = ((Linear)fused[0], fused[1], (Linear)fused[2], fused[3]);
        using var x = Tensor.FromArray(Seeded.Uniform(g, 4 * 6).Select(v => (float)v).ToArray(), [4, 6]);
        x.RequiresGrad = true;
        using var dy = Tensor.FromArray(Seeded.Uniform(g, 4 * 3).Select(v => (float)v).ToArray(), [4, 3]);

        var yFused = fused.Forward(x).ToArray<float>();
        fused.ZeroGrad();
        var dxFused = fused.Backward(dy)!.ToArray<float>();
        var gradsFused = fused.Parameters().SelectMany(p => p.Grad.ToArray<float>()).ToArray();

        var yInTurn = act2.Forward(fc2.Forward(act1.Forward(fc1.Forward(x)))).ToArray<float>();
        fused.ZeroGrad();
        var dxInTurn = fc1.Backward(act1.Backward(fc2.Backward(act2.Backward(dy)!)!)!)!.ToArray<float>();
        var gradsInTurn = fused.Parameters().SelectMany(p => p.Grad.ToArray<float>()).ToArray();

        Assert.That(yFused, Is.EqualTo(yInTurn), "forward, bit for bit");
        Assert.That(dxFused, Is.EqualTo(dxInTurn), "input gradient, bit for bit");
        Assert.That(gradsFused, Is.EqualTo(gradsInTurn), "parameter gradients, bit for bit");
    }

    [Test]
    public void Linear_RejectsWrongInputWidth()
    {
        using var layer = new Linear(784, 128);
        var ex = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros([2, 783])));
        Assert.That(ex!.Message, Does.Contain("[N, 784]").And.Contain("[2, 783]"));
    }

    [Test]
    public void DisposedModule_Throws()
    {
        var layer = new Linear(2, 2);
        layer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => layer.Forward(Tensor.Zeros([1, 2])));
    }

    [Test]
    public void MovingAModelAfterItsOptimizerWasMade_SaysSo_AndMovingFirstWorks()
    {
        using var model = CudaNn.Training.MlpSpec.Default.Create(new Generator(1));
        using (var opt = new CudaNn.Optim.Adam(model.Parameters()))
        {
            var error = Assert.Throws<InvalidOperationException>(() => model.To(DType.Float64))!;
            Assert.That(error.Message, Does.Contain("parameter fc1.weight belongs to the Adam").And.Contain("move the model first"));
            Assert.That(model.Parameters()[0].Value.DType, Is.EqualTo(DType.Float32), "nothing was moved");
        }
        model.To(DType.Float64);
        using var again = new CudaNn.Optim.SGD(model.Parameters(), lr: 0.1);
        Assert.That(model.Parameters()[0].Value.DType, Is.EqualTo(DType.Float64));
    }

    [TestCase("cpu")]
    [TestCase("emulator")]
    public void MovingAModelToWhereItIs_AfterItsOptimizerWasMade_LeavesItTraining(string deviceName)
    {
        Device device = deviceName == "cpu" ? Device.Cpu : Requirements.Emulator();
        using var model = CudaNn.Training.MlpSpec.Default.Create(new Generator(1), device);
        using var optimizer = new CudaNn.Optim.SGD(model.Parameters(), lr: 0.5);
        var weight = model.Parameters()[0];
        var before = weight.Value.ToArray<float>();

        Assert.That(model.To(device), Is.SameAs(model));
        Assert.That(model.To(DType.Float32), Is.SameAs(model));
        Assert.That(model.Parameters()[0], Is.SameAs(weight), "the same parameters, still the optimizer's");

        using var x = Tensor.FromArray(Enumerable.Range(0, 2 * 784).Select(i => (float)Math.Sin(i)).ToArray(), [2, 784], device);
        using var labels = Tensor.FromArray(new[] { 3, 7 }, [2], device);
        using var loss = new CrossEntropyLoss();
        optimizer.ZeroGrad();
        loss.Forward(model.Forward(x), labels);
        model.Backward(loss.Backward());
        optimizer.Step();
        Assert.That(weight.Value.ToArray<float>(), Is.Not.EqualTo(before), "the step moved the weights the model computes with");
    }

    // A second Backward for one Forward would add the same gradients again; PyTorch refuses it, and so does each module.
    [TestCase("cpu")]
    [TestCase("emulator")]
    public void SecondBackwardForOneForward_Throws_AndForwardBackwardPairsStillAccumulate(string deviceName)
    {
        Device device = deviceName == "cpu" ? Device.Cpu : Requirements.Emulator();
        var g = new Generator(4);
        using var model = new Sequential(("fc1", new Linear(6, 5, generator: g)), ("norm", new LayerNorm(5)), ("act", new Tanh()),
            ("drop", new Dropout(0.25, g)), ("fc2", new Linear(5, 4, generator: g)), ("act2", new LeakyReLU(0.1)), ("fc3", new Linear(4, 3, generator: g)));
        model.To(device);
        using var x = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (float)Math.Cos(i)).ToArray(), [2, 6], device);
        using var dy = Tensor.FromArray(Enumerable.Range(0, 6).Select(i => (float)Math.Sin(i + 1)).ToArray(), [2, 3], device);
        var weight = model.Parameters()[0];

        model.Forward(x);
        model.Backward(dy);
        var once = weight.Grad.ToArray<float>();
        var error = Assert.Throws<InvalidOperationException>(() => model.Backward(dy))!;
        Assert.That(error.Message, Does.Contain("Backward called a second time for one Forward").And.Contain("run Forward again"));
        Assert.That(weight.Grad.ToArray<float>(), Is.EqualTo(once), "the refused Backward added nothing");

        // Gradient accumulation over micro-batches: another Forward, then Backward, adds a second share.
        model.Eval(); // the same dropout-free pass twice, so the two shares are equal
        model.ZeroGrad();
        model.Forward(x);
        model.Backward(dy);
        var first = weight.Grad.ToArray<float>();
        model.Forward(x);
        model.Backward(dy);
        Assert.That(weight.Grad.ToArray<float>(), Is.EqualTo(first.Select(v => 2 * v).ToArray()).Within(1e-5f), "two pairs, two shares");

        // Each module on its own refuses too, naming itself.
        model.Train();
        using var h = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (float)Math.Sin(i)).ToArray(), [2, 5], device);
        h.RequiresGrad = true;
        foreach (var (name, module) in model.NamedChildren().Where(c => c.Name is "norm" or "act" or "drop"))
        {
            var y = module.Forward(h);
            module.Backward(y);
            Assert.That(() => module.Backward(y), Throws.InvalidOperationException.With.Message.Contains("called a second time"), name);
        }
    }

    [Test]
    public void AnInputOfAnotherDTypeOrDevice_IsNamed_WithTheModelsAsExpected()
    {
        using var model = CudaNn.Training.MlpSpec.Default.Create(new Generator(1));
        using var float64 = Tensor.Zeros([2, 784], DType.Float64);
        Assert.That(() => model.Forward(float64), Throws.ArgumentException.With.Message.Contains(
            "Linear(784, 128): expected float32 (the model's), got float64 in the input Tensor([2, 784], float64, cpu)"));

        using var emulated = CudaNn.Training.MlpSpec.Default.Create(new Generator(1), Requirements.Emulator());
        using var onCpu = Tensor.Zeros([2, 784]);
        Assert.That(() => emulated.Forward(onCpu), Throws.ArgumentException.With.Message.Contains(
            "Linear(784, 128): expected an input on emulator (the model's), got the input Tensor([2, 784], float32, cpu) on cpu"));
        using var norm = new LayerNorm(784);
        Assert.That(() => norm.Forward(float64), Throws.ArgumentException.With.Message.Contains("LayerNorm(784): expected float32 (the model's), got float64"));
    }
}
