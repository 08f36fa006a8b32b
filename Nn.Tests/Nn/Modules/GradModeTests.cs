using CudaNn.Backends;
using CudaNn.Nn;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>GradMode.NoGrad (torch.no_grad()): what Forward keeps, what losses compute, and how scopes nest.</summary>
public class GradModeTests
{
    [Test]
    public void Scopes_NestAndRestoreTheModeBeforeThem()
    {
        Assert.That(GradMode.IsEnabled, Is.True);
        using (GradMode.NoGrad())
        {
            Assert.That(GradMode.IsEnabled, Is.False);
            using (GradMode.Enable(true)) Assert.That(GradMode.IsEnabled, Is.True);
            Assert.That(GradMode.IsEnabled, Is.False);
        }
        Assert.That(GradMode.IsEnabled, Is.True);
    }

    [Test]
    public void ForwardWithoutGrad_KeepsNothingForBackward_AndWritesItsOwnBuffers()
    {
        using var model = Mlp.Create(4, [3], 2, Activation.ReLU, new Generator(5));
        using var lossFn = new CrossEntropyLoss();
        using var x = Tensor.FromArray(new float[] { 1, -2, 3, 0.5f, -1, 0, 2, 1 }, [2, 4]);
        using var y = Tensor.FromArray(new[] { 1, 0 }, [2]);

        var training = model.Forward(x);
        float[] trainingValues = training.ToArray<float>();
        lossFn.Forward(training, y);
        Tensor inference;
        using (GradMode.NoGrad())
        {
            inference = model.Forward(x);
            lossFn.Forward(inference, y);
            Assert.That(inference.RequiresGrad, Is.False);
            Assert.That(() => lossFn.Backward(), Throws.InvalidOperationException.With.Message.Contains("GradMode.NoGrad()"));
        }

        Assert.That(inference, Is.Not.SameAs(training), "inference writes a buffer of its own");
        Assert.That(inference.ToArray<float>(), Is.EqualTo(trainingValues), "the same function");
        Assert.That(training.ToArray<float>(), Is.EqualTo(trainingValues), "the training output is untouched");
        using var gradOutput = Tensor.Zeros([2, 2]);
        Assert.That(() => model.Backward(gradOutput),
            Throws.InvalidOperationException.With.Message.Contains("ran under GradMode.NoGrad()"));
    }
}
