using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>
/// What a layer returns is a view of a buffer it reuses at the same shape. Keeping it past the layer's next call was
/// a silent trap (the kept tensor read the new values); now any use of it then throws OverwrittenTensorException,
/// saying to Clone() it, on every device, and a captured step's replay counts as a call.
/// </summary>
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class KeptOutputTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private Tensor Input(Generator g, int rows) => OnDevice(Seeded.Tensor64(g, rows, 4));

    private Sequential Model(ulong seed) =>
        (Sequential)new Sequential(new Linear(4, 8, generator: new Generator(seed)), new ReLU(), new Linear(8, 3, generator: new Generator(seed + 1))).To(DType).To(Device);

    [Test]
    public void AnOutputKeptAcrossASecondForward_ThrowsSayingToCloneIt()
    {
        var g = Seeded.Generator(51);
        using var model = Model(52);
        using var x1 = Input(g, 5);
        using var x2 = Input(g, 5);
        var first = model.Forward(x1);
        using var kept = first.Clone();
        float[] expected = first.ToArray<float>();
        var second = model.Forward(x2);

        var error = Assert.Throws<OverwrittenTensorException>(() => first.ToArray<float>())!;
        Assert.That(error.Message, Does.Contain("Tensor([5, 3], float32").And.Contain("call Clone() on an output to keep it"));
        Assert.That(() => first.Item(), Throws.InstanceOf<InvalidOperationException>());
        Assert.That(() => first.View(15).ToArray<float>(), Throws.TypeOf<OverwrittenTensorException>(), "a view of a stale output is stale too");
        using var other = new Linear(3, 2).To(DType).To(Device);
        Assert.That(() => other.Forward(first), Throws.TypeOf<OverwrittenTensorException>(), "as another layer's input");
        Assert.That(kept.ToArray<float>(), Is.EqualTo(expected), "the clone keeps the first call's values");
        Assert.That(second.ToArray<float>(), Is.Not.EqualTo(expected), "the latest output reads as ever");
    }

    [Test]
    public void OutputsOfOtherShapes_AndOfModesApart_StayReadable()
    {
        var g = Seeded.Generator(53);
        using var model = Model(54);
        using var x5 = Input(g, 5);
        using var x7 = Input(g, 7);
        var five = model.Forward(x5);
        float[] values = five.ToArray<float>();
        model.Forward(x7);
        Tensor inference;
        using (GradMode.NoGrad()) inference = model.Forward(x5);
        Assert.That(five.ToArray<float>(), Is.EqualTo(values), "another batch size, and evaluation, use buffers of their own");
        Assert.That(inference.ToArray<float>(), Is.EqualTo(values));
    }

    [Test]
    public void GradientsAndLosses_AreHandedOutTheSameWay()
    {
        var g = Seeded.Generator(55);
        using var model = Model(56);
        using var lossFn = new CrossEntropyLoss();
        using var x = Input(g, 6);
        using var y = Tensor.FromArray(new[] { 0, 1, 2, 0, 1, 2 }, [6], Device);
        x.RequiresGrad = true;
        var loss = lossFn.Forward(model.Forward(x), y);
        var gradLogits = lossFn.Backward();
        var inputGrad = model.Backward(gradLogits)!;
        var secondLoss = lossFn.Forward(model.Forward(x), y);
        model.Backward(lossFn.Backward());
        Assert.That(() => loss.Item(), Throws.TypeOf<OverwrittenTensorException>());
        Assert.That(() => gradLogits.ToArray<float>(), Throws.TypeOf<OverwrittenTensorException>());
        Assert.That(() => inputGrad.ToArray<float>(), Throws.TypeOf<OverwrittenTensorException>());
        Assert.That(secondLoss.Item(), Is.GreaterThan(0));
    }

    [Test]
    public void GradientAccumulation_AndStepsOnParameters_AreNotStale()
    {
        var g = Seeded.Generator(57);
        using var model = Model(58);
        using var optimizer = new SGD(model.Parameters(), lr: 0.1);
        using var x = Input(g, 4);
        var weight = ((Linear)model[0]).Weight;
        var values = weight.Value;
        optimizer.ZeroGrad();
        for (int micro = 0; micro < 3; micro++)
        {
            var output = model.Forward(x);
            using var upstream = OnDevice(Tensor.FromArray(Enumerable.Repeat(1.0, (int)output.Numel).ToArray(), output.Shape));
            model.Backward(upstream);
        }
        optimizer.Step();
        Assert.That(values.ToArray<float>(), Has.Length.EqualTo(32), "a step writes parameters in place; they are not handed out");
        Assert.That(weight.Grad.ToArray<float>().Any(v => v != 0), "three Forward and Backward pairs accumulated");
    }

    [Test]
    public void AnOutputKeptAcrossTheTrainersSteps_IsStale()
    {
        var train = MnistDataSet.LoadDefault(MnistSplit.Train);
        using var model = (Sequential)Mlp.Create(784, [16], 10, global::CudaNn.Backends.Activation.ReLU, new Generator(59)).To(DType).To(Device);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        using var loader = DataLoader.FromMnist(train, 50, device: Device, dtype: DType);
        using var trainer = new Trainer(model, optimizer);
        // On the emulator (and a GPU) the first step runs eagerly, the second is captured, and every later one is a
        // replay of that graph, which writes the layers' buffers without running their code.
        trainer.TrainEpoch(loader, 1, maxSteps: 3);
        var (x, _) = loader.First();
        var kept = model.Forward(x);
        kept.ToArray<float>();
        trainer.TrainEpoch(loader, 2, maxSteps: 6);
        if (trainer.UsesGraphs) Assert.That(trainer.GraphCaptures, Is.EqualTo(1), "steps 4 to 6 were replays");
        Assert.That(() => kept.ToArray<float>(), Throws.TypeOf<OverwrittenTensorException>());
        Assert.That(model.Forward(x).ToArray<float>(), Has.Length.EqualTo(500), "a new call reads as ever");
    }
}
