using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Tests.TestSupport;
using CudaNn.Verification;

namespace CudaNn.Tests.Nn.Losses;

public class MSELossTests
{
    [Test]
    public void HandComputedCase()
    {
        // diffs [1, -2, 0, 3] -> loss (1 + 4 + 0 + 9) / 4 = 3.5; dpred = 2 * diff / 4 = [0.5, -1, 0, 1.5].
        using var pred = Tensor.FromArray(new[] { 2.0, 0.0, 1.0, 4.0 }, [2, 2]);
        using var target = Tensor.FromArray(new[] { 1.0, 2.0, 1.0, 1.0 }, [2, 2]);
        using var lossFn = new MSELoss();
        Assert.That(lossFn.Forward(pred, target).Item(), Is.EqualTo(3.5));
        Assert.That(lossFn.Backward().ToArray<double>(), Is.EqualTo(new[] { 0.5, -1.0, 0.0, 1.5 }));
    }

    [Test]
    public void MatchesPyTorch()
    {
        // PyTorch 1.13's float64 MSE and its gradient on random values, from Nn.Tests/References/losses.safetensors.
        var file = ReferenceFiles.Load("losses.safetensors");
        using var pred = Tensor.FromArray(file.Get("mse.pred").ToDoubleArray(), [4, 3]);
        using var target = Tensor.FromArray(file.Get("mse.target").ToDoubleArray(), [4, 3]);
        using var lossFn = new MSELoss();
        Close.Assert(file.Get("mse.loss").ToDoubleArray()[0], lossFn.Forward(pred, target).Item(), 0, 1e-14, "loss");
        Close.Assert(file.Get("mse.grad").ToDoubleArray(), lossFn.Backward().ToArray<double>(), 1e-16, 1e-14, "dpred");
    }

    [Test]
    public void Gradient_MatchesFiniteDifferences()
    {
        var g = Seeded.Generator(51);
        using var pred = Seeded.Tensor64(g, 3, 4);
        using var target = Seeded.Tensor64(g, 3, 4);
        using var lossFn = new MSELoss();
        var result = GradCheck.Loss("pred", pred, () => (lossFn.Forward(pred, target).Item(), lossFn.Backward().ToArray<double>()));
        Assert.That(result.MaxRelativeError, Is.LessThan(1e-6));
    }

    [Test]
    public void RejectsShapeMismatch()
    {
        using var lossFn = new MSELoss();
        var ex = Assert.Throws<ArgumentException>(() => lossFn.Forward(Tensor.Zeros([2, 2]), Tensor.Zeros([4])));
        Assert.That(ex!.Message, Does.Contain("[2, 2]").And.Contain("[4]"));
    }
}
