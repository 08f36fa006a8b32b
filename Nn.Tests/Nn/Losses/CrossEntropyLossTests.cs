using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Tests.TestSupport;
using CudaNn.Verification;

namespace CudaNn.Tests.Nn.Losses;

public class CrossEntropyLossTests
{
    [Test]
    public void HandComputedTwoClassCase()
    {
        // logits [0, ln 3] -> softmax [1/4, 3/4]; label 0 -> loss = -ln(1/4) = ln 4, dlogits = [1/4 - 1, 3/4].
        using var logits = Tensor.FromArray(new[] { 0.0, Math.Log(3) }, [1, 2]);
        logits.RequiresGrad = true;
        using var labels = Tensor.FromArray(new[] { 0 }, [1]);
        using var lossFn = new CrossEntropyLoss();
        double loss = lossFn.Forward(logits, labels).Item();
        Close.Assert(Math.Log(4), loss, 1e-15, 1e-15, "loss");
        Close.Assert([-0.75, 0.75], lossFn.Backward().ToArray<double>(), 1e-15, 1e-15, "dlogits");
    }

    [Test]
    public void MatchesPyTorch_IncludingHugeLogits()
    {
        // Logits up to +-1000 (which overflow a plain softmax) and PyTorch 1.13's float64 loss and gradient, from
        // Nn.Tests/References/losses.safetensors (make_references.py).
        var file = ReferenceFiles.Load("losses.safetensors");
        using var logits = Tensor.FromArray(file.Get("ce.logits").ToDoubleArray(), [3, 4]);
        logits.RequiresGrad = true;
        using var labels = Tensor.FromArray(file.Get("ce.labels").ToInt32Array(), [3]);
        using var lossFn = new CrossEntropyLoss();
        Close.Assert(file.Get("ce.loss").ToDoubleArray()[0], lossFn.Forward(logits, labels).Item(), 0, 1e-14, "loss");
        Close.Assert(file.Get("ce.grad").ToDoubleArray(), lossFn.Backward().ToArray<double>(), 1e-16, 1e-13, "dlogits");
    }

    [TestCase(1, 1)]
    [TestCase(1, 10)]
    [TestCase(5, 3)]
    [TestCase(16, 10)]
    public void Gradient_MatchesFiniteDifferences(int batch, int classes)
    {
        var g = Seeded.Generator(4000 + (ulong)(batch * 100 + classes));
        using var logits = Seeded.Tensor64(g, batch, classes);
        logits.RequiresGrad = true;
        using var labels = Tensor.FromArray(Enumerable.Range(0, batch).Select(_ => g.NextInt(classes)).ToArray(), [batch]);
        using var lossFn = new CrossEntropyLoss();
        var result = GradCheck.Loss("logits", logits, () =>
        {
            double value = lossFn.Forward(logits, labels).Item();
            return (value, lossFn.Backward().ToArray<double>());
        });
        TestContext.Out.WriteLine($"max rel {result.MaxRelativeError:E2}");
        Assert.That(result.MaxRelativeError, Is.LessThan(1e-6));
    }

    [Test]
    public void CountsCorrectPredictions()
    {
        using var logits = Tensor.FromArray(new[] { 0.1f, 0.9f, 0.8f, 0.2f, 0.5f, 0.4f }, [3, 2]);
        using var labels = Tensor.FromArray(new[] { 1, 1, 0 }, [3]);
        using var correct = Tensor.FromArray(new[] { 5 }, [1]);
        using var lossFn = new CrossEntropyLoss();
        lossFn.Forward(logits, labels, correct);
        Assert.That(correct.ToArray<int>()[0], Is.EqualTo(5 + 2), "rows 0 and 2 are right, row 1 is wrong; the count accumulates");
    }

    [Test]
    public void RejectsLabelOutOfRange()
    {
        using var logits = Tensor.Zeros([2, 3]);
        using var labels = Tensor.FromArray(new[] { 0, 3 }, [2]);
        using var lossFn = new CrossEntropyLoss();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => lossFn.Forward(logits, labels));
        Assert.That(ex!.Message, Does.Contain("label 3 in row 1"));
    }

    [Test]
    public void RejectsMismatchedLabelCount()
    {
        using var logits = Tensor.Zeros([2, 3]);
        using var labels = Tensor.FromArray(new[] { 0, 1, 2 }, [3]);
        using var lossFn = new CrossEntropyLoss();
        var ex = Assert.Throws<ArgumentException>(() => lossFn.Forward(logits, labels));
        Assert.That(ex!.Message, Does.Contain("[3]").And.Contain("[2, 3]"));
    }
}
