using System.Globalization;
using CudaNn.Backends;
using CudaNn.Backends.Cpu;
using CudaNn.Checkpoints;
using CudaNn.Export;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>
/// nn.Dropout against PyTorch 1.13: Nn.Tests/References/dropout.safetensors holds, for x [7, 9] and five (p, seed,
/// call) cases, PyTorch's output and input gradient given CudaNn's mask (p from 0.1 to 1, seeds and calls that use
/// every word of Philox's key and counter). Every device draws that mask bit for bit; the values are one multiply by
/// 1 / (1 - p) rounded to the dtype, so they are exact in float64 and within float32's rounding of x (6e-8 relative) in
/// float32.
/// </summary>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class DropoutTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private static SafetensorsFile Reference => ReferenceFiles.Load("dropout.safetensors");

    private static IEnumerable<string> Cases() => Reference.Metadata.Keys.Where(k => k != "torch").Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackward_MatchPyTorch_WithTheSameMask(string name)
    {
        var file = Reference;
        string[] parts = file.Metadata[name].Split(',');
        double p = double.Parse(parts[0], CultureInfo.InvariantCulture);
        ulong seed = ulong.Parse(parts[1], CultureInfo.InvariantCulture), call = ulong.Parse(parts[2], CultureInfo.InvariantCulture);
        TestContext.Out.WriteLine($"case {name}: p {p}, seed {seed}, call {call}");
        using var x = OnDevice(ReferenceFiles.Read(file, "x"));
        x.RequiresGrad = true;
        using var dy = OnDevice(ReferenceFiles.Read(file, "dy"));
        using var dropout = new Dropout(p, seed);

        // A first pass at another call fills the layer's buffers with another mask, so the pass checked overwrites them.
        dropout.SetRngState(seed, call + 17);
        dropout.Backward(dropout.Forward(x));
        dropout.SetRngState(seed, call);
        var y = dropout.Forward(x);
        var dx = dropout.Backward(dy)!;

        double tolerance = Exact ? 0 : 1e-7;
        ReferenceFiles.Compare(file, name + ".y", y, tolerance);
        ReferenceFiles.Compare(file, name + ".dx", dx, tolerance);
        double[] reference = file.Get(name + ".y").ToDoubleArray();
        Assert.That(ReferenceFiles.Values(y).Select(v => v == 0), Is.EqualTo(reference.Select(v => v == 0)), "the same elements dropped");
        Assert.That(dropout.Calls, Is.EqualTo(call + 1), "one mask drawn");
    }

    [Test]
    public void EachTrainingForward_DrawsAFreshMask_AndTheCpuDrawsTheSame()
    {
        double[] values = Seeded.Uniform(Seeded.Generator(41), 129 * 33);
        using var x = OnDevice(Tensor.FromArray(values, [129, 33]));
        using var host = Tensor.FromArray(values, [129, 33]);
        using var cpuX = TensorConversion.To(host, Device.Cpu, DType);
        using var dropout = new Dropout(0.4, seed: 99);
        using var cpuDropout = new Dropout(0.4, seed: 99);
        var masks = new List<bool[]>();
        for (int call = 0; call < 3; call++)
        {
            double[] y = ReferenceFiles.Values(dropout.Forward(x)), cpuY = ReferenceFiles.Values(cpuDropout.Forward(cpuX));
            Assert.That(y, Is.EqualTo(cpuY), $"call {call}: the same values as the CPU backend");
            masks.Add(y.Select(v => v != 0).ToArray());
        }
        Assert.That(masks[1], Is.Not.EqualTo(masks[0]));
        Assert.That(masks[2], Is.Not.EqualTo(masks[1]));
        Assert.That(dropout.Calls, Is.EqualTo(3UL));
    }

    [Test]
    public void EvalModeAndZeroP_PassTheInputThrough_AndDrawNothing()
    {
        using var x = OnDevice(Tensor.FromArray(new double[] { 1, -2, 3, 4 }, [2, 2]));
        x.RequiresGrad = true;
        using var dy = OnDevice(Tensor.FromArray(new double[] { 5, 6, 7, 8 }, [2, 2]));
        using var dropout = new Dropout(0.5, seed: 3);
        dropout.Eval();
        Assert.That(dropout.Forward(x), Is.SameAs(x), "eval: the input itself, as PyTorch returns it");
        Assert.That(dropout.Backward(dy), Is.SameAs(dy));
        using var none = new Dropout(0.0, seed: 3);
        Assert.That(none.Forward(x), Is.SameAs(x), "p = 0 in training");
        Assert.That(dropout.Calls + none.Calls, Is.Zero, "no mask drawn");

        dropout.Train();
        using (GradMode.NoGrad())
        {
            var y = dropout.Forward(x);
            Assert.That(y, Is.Not.SameAs(x), "training mode drops under no_grad too, as in PyTorch");
            Assert.Throws<InvalidOperationException>(() => dropout.Backward(dy), "no_grad keeps nothing for Backward");
        }
    }

    [Test]
    public void BadUse_IsRefusedWithAClearMessage()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Dropout(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Dropout(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Dropout(double.NaN));
        using var dropout = new Dropout(0.5, seed: 1);
        using var gradient = OnDevice(Tensor.Zeros([2], DType.Float64));
        Assert.That(Assert.Throws<InvalidOperationException>(() => dropout.Backward(gradient))!.Message, Does.Contain("before Forward"));
        using var x = OnDevice(Tensor.Zeros([2, 3], DType.Float64));
        x.RequiresGrad = true;
        dropout.Forward(x);
        using var wrong = OnDevice(Tensor.Zeros([3, 2], DType.Float64));
        Assert.That(Assert.Throws<ArgumentException>(() => dropout.Backward(wrong))!.Message, Does.Contain("[2, 3]"));
        using var ints = Tensor.FromArray(new[] { 1, 2 }, [2], Device);
        Assert.That(Assert.Throws<ArgumentException>(() => dropout.Forward(ints))!.Message, Does.Contain("floating-point"));
    }

    [Test]
    public void TheCallCount_SurvivesAMoveAndACheckpoint()
    {
        using var dir = new TempDirectory();
        var spec = new MlpSpec(6, [5, 4], 3, Activation.ReLU) { Dropout = 0.3 };
        using var model = spec.Create(new Generator(8));
        using var x = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => i * 0.1).ToArray(), [2, 6]);
        using var xf = TensorConversion.To(x, Device, DType);
        model.To(DType).To(Device);
        using var sgd = new SGD(model.Parameters(), lr: 0.1);
        model.Forward(xf);
        model.Forward(xf);
        var drops = model.NamedModules().Where(m => m.Module is Dropout).Select(m => (m.Name, (Dropout)m.Module)).ToList();
        Assert.That(drops.Select(d => d.Name), Is.EqualTo(new[] { "drop1", "drop2" }));
        Assert.That(drops.Select(d => d.Item2.Calls), Is.All.EqualTo(2UL));
        Assert.That(drops[0].Item2.Seed, Is.Not.EqualTo(drops[1].Item2.Seed), "each layer draws its own seed");

        string path = dir.File("d.safetensors");
        TrainingCheckpoint.Save(path, model, sgd, new TrainingPosition(1, [1, 2, 3, 4], []), spec.ToMetadata());
        var file = SafetensorsReader.Read(path);
        Assert.That(MlpSpec.FromCheckpoint(file).Dropout, Is.EqualTo(0.3));
        using var restored = MlpSpec.FromCheckpoint(file).Create(new Generator(1000));
        restored.To(DType).To(Device);
        using var restoredSgd = new SGD(restored.Parameters(), lr: 0.1);
        TrainingCheckpoint.Load(file, restored, restoredSgd);
        var again = restored.NamedModules().Where(m => m.Module is Dropout).Select(m => (Dropout)m.Module).ToList();
        Assert.That(again.Select(d => (d.Seed, d.Calls)), Is.EqualTo(drops.Select(d => (d.Item2.Seed, d.Item2.Calls))));

        // The next masks are the ones the original layers draw next.
        Assert.That(ReferenceFiles.Values(restored.Forward(xf)), Is.EqualTo(ReferenceFiles.Values(model.Forward(xf))));

        using var plain = new MlpSpec(6, [5, 4], 3, Activation.ReLU).Create();
        using var plainSgd = new SGD(plain.Parameters(), lr: 0.1);
        Assert.That(Assert.Throws<CheckpointFormatException>(() => TrainingCheckpoint.Load(file, plain, plainSgd))!.Message,
            Does.Contain("dropout"));
    }

    [Test]
    public void OnnxExport_LeavesDropoutOut()
    {
        var spec = new MlpSpec(6, [5], 3, Activation.Tanh);
        using var plain = spec.Create(new Generator(4));
        using var dropped = new MlpSpec(6, [5], 3, Activation.Tanh) { Dropout = 0.5 }.Create(new Generator(4));
        Assert.That(OnnxExporter.ToBytes(dropped), Is.EqualTo(OnnxExporter.ToBytes(plain)), "the same graph and weights as without dropout");
        Assert.That(dropped.ToString(), Does.Contain("(drop1): Dropout(p=0.5, inplace=False)"));
    }
}
