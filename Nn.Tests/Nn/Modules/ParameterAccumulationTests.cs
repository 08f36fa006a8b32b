using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>Gradients accumulate across Backward calls until ZeroGrad, as in PyTorch.</summary>
public class ParameterAccumulationTests
{
    [Test]
    public void TwoBackwardCalls_DoubleTheGradient_AndZeroGradClearsIt()
    {
        var g = Seeded.Generator(21);
        using var model = new Sequential(new Linear(4, 3, generator: g), new ReLU(), new Linear(3, 2, generator: g));
        using var x = Tensor.FromArray(Seeded.Uniform(g, 8).Select(v => (float)v).ToArray(), [2, 4]);
        using var dy = Tensor.FromArray(Seeded.Uniform(g, 4).Select(v => (float)v).ToArray(), [2, 2]);
        using var opt = new SGD(model.Parameters(), lr: 0.1);

        model.Forward(x);
        model.Backward(dy);
        var once = model.Parameters().Select(p => p.Grad.ToArray<float>()).ToList();
        model.Forward(x);
        model.Backward(dy);
        var twice = model.Parameters().Select(p => p.Grad.ToArray<float>()).ToList();
        Assert.That(once.SelectMany(v => v).Any(v => v != 0), "the first backward produced a gradient");
        for (int i = 0; i < once.Count; i++)
            Close.Assert(once[i].Select(v => 2 * v).ToArray(), twice[i], 1e-7, 1e-6, $"parameter {i}");

        opt.ZeroGrad();
        Assert.That(model.Parameters().SelectMany(p => p.Grad.ToArray<float>()), Is.All.EqualTo(0f));
        model.Forward(x);
        model.Backward(dy);
        var afterZero = model.Parameters().Select(p => p.Grad.ToArray<float>()).ToList();
        for (int i = 0; i < once.Count; i++)
            Assert.That(afterZero[i], Is.EqualTo(once[i]), $"parameter {i} after ZeroGrad");
    }

    [Test]
    public void DataInput_GetsNoGradient()
    {
        using var layer = new Linear(3, 2);
        using var x = Tensor.Zeros([1, 3]);
        layer.Forward(x);
        Assert.That(layer.Backward(Tensor.Zeros([1, 2])), Is.Null);
    }

    [Test]
    public void ModuleZeroGrad_ClearsEveryParameter()
    {
        using var layer = new Linear(2, 2);
        layer.Weight.Grad.CopyFrom<float>([1, 2, 3, 4]);
        layer.Bias!.Grad.CopyFrom<float>([5, 6]);
        layer.ZeroGrad();
        Assert.That(layer.Parameters().SelectMany(p => p.Grad.ToArray<float>()), Is.All.EqualTo(0f));
    }
}
