using CudaNn.Nn;
using CudaNn.Tests.TestSupport;
using CudaNn.Verification;

namespace CudaNn.Tests.Losses;

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
        // Expected values from PyTorch 1.13 (float64):
        //   z = torch.tensor([[2.0, -1.0, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4], [1000.0, 0.0, -1000.0, 999.0]],
        //                    dtype=torch.float64, requires_grad=True)
        //   loss = torch.nn.functional.cross_entropy(z, torch.tensor([0, 3, 3])); loss.backward()
        //   print(loss.item(), z.grad.flatten().tolist())
        using var logits = Tensor.FromArray(new[] { 2.0, -1.0, 0.5, 0.0, 0.1, 0.2, 0.3, 0.4, 1000.0, 0.0, -1000.0, 999.0 }, [3, 4]);
        logits.RequiresGrad = true;
        using var labels = Tensor.FromArray(new[] { 0, 3, 3 }, [3]);
        using var lossFn = new CrossEntropyLoss();
        Close.Assert(0.9660489331210692, lossFn.Forward(logits, labels).Item(), 0, 1e-14, "loss");
        double[] expectedGrad =
        [
            -0.0966333590379419, 0.01178459780291629, 0.05281490317165991, 0.032033858063365735,
            0.07127940678866146, 0.07877592744051255, 0.08706086405169185, -0.2371161982808659,
            0.2436861928766683, 0.0, 0.0, -0.2436861928766683,
        ];
        Close.Assert(expectedGrad, lossFn.Backward().ToArray<double>(), 1e-16, 1e-13, "dlogits");
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
