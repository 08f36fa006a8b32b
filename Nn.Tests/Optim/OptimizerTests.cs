using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Optim;

/// <summary>
/// Three steps of each optimizer from fixed parameters and gradients, in float64, against PyTorch 1.13:
/// <code>
/// import torch
/// p0 = [0.5, -1.25, 2.0, 0.0, -0.125]
/// grads = [[0.1, -0.2, 0.3, -0.4, 0.0], [-0.05, 0.5, 0.25, 1.5, -2.0], [1.0, 1.0, -1.0, 0.01, 0.3]]
/// def run(name, make):
///     p = torch.nn.Parameter(torch.tensor(p0, dtype=torch.float64)); opt = make([p])
///     for g in grads:
///         opt.zero_grad(); p.grad = torch.tensor(g, dtype=torch.float64); opt.step()
///     print(name, p.detach().tolist())
/// run("adam", lambda ps: torch.optim.Adam(ps, lr=0.01))   # and the others below
/// </code>
/// </summary>
public class OptimizerTests
{
    private static readonly double[] Start = [0.5, -1.25, 2.0, 0.0, -0.125];
    private static readonly double[][] Grads =
    [
        [0.1, -0.2, 0.3, -0.4, 0.0], [-0.05, 0.5, 0.25, 1.5, -2.0], [1.0, 1.0, -1.0, 0.01, 0.3],
    ];

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("Adam(lr=0.01)", ps => new Adam(ps, lr: 0.01),
            [0.4807594285122035, -1.2516673584523623, 1.983254272522709, 0.00027005000248492717, -0.11281821830622102]);
        yield return Case("Adam(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)",
            ps => new Adam(ps, lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1),
            [0.4762041693502296, -1.2485461778683118, 1.9808858327549272, -0.0002820990898974715, -0.10256649510600484]);
        yield return Case("AdamW(lr=0.01, weight_decay=0.1)", ps => new AdamW(ps, lr: 0.01, weightDecay: 0.1),
            [0.47928358138026417, -1.2479366750488412, 1.9772901722504295, 0.00025552466792827, -0.11245103454940408]);
        yield return Case("SGD(lr=0.1)", ps => new SGD(ps, lr: 0.1),
            [0.395, -1.3800000000000001, 2.045, -0.111, 0.04500000000000001]);
        yield return Case("SGD(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)",
            ps => new SGD(ps, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
            [0.388822256495, -1.3646831702875, 1.95544128408, -0.14901526759999997, 0.19050247135125]);
        yield return Case("SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)",
            ps => new SGD(ps, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
            [0.2852273119805, -1.4967014492462498, 2.003408786512, -0.27071014564, 0.36028238735737506]);
    }

    private static TestCaseData Case(string name, Func<IEnumerable<Parameter>, Optimizer> make, double[] expected) =>
        new TestCaseData(make, expected).SetName(name);

    [TestCaseSource(nameof(Cases))]
    public void ThreeSteps_MatchPyTorch(Func<IEnumerable<Parameter>, Optimizer> make, double[] expected)
    {
        // Two parameters (3 + 2 elements) so the flat packing across parameters is exercised too.
        var a = new Parameter(Tensor.FromArray(Start[..3], [3]));
        var b = new Parameter(Tensor.FromArray(Start[3..], [2]));
        using var opt = make([a, b]);
        foreach (var g in Grads)
        {
            opt.ZeroGrad();
            a.Grad.CopyFrom<double>(g[..3]);
            b.Grad.CopyFrom<double>(g[3..]);
            opt.Step();
        }
        double[] actual = [.. a.Value.ToArray<double>(), .. b.Value.ToArray<double>()];
        Close.Assert(expected, actual, 1e-15, 1e-13, "parameters after three steps");
    }

    /// <summary>
    /// The learning rate set before each of the three steps, as a schedule sets param_groups[0]["lr"]; PyTorch 1.13:
    /// <code>
    /// def run(name, make, rates):    # as above, with: for group in opt.param_groups: group["lr"] = lr   before each step
    /// run("adam", lambda ps: torch.optim.Adam(ps, lr=0.01), [0.01, 0.03, 0.005])
    /// run("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), [0.1, 0.3, 0.05])
    /// </code>
    /// </summary>
    private static IEnumerable<TestCaseData> RateChanges()
    {
        yield return new TestCaseData((Func<IEnumerable<Parameter>, Optimizer>)(ps => new Adam(ps, lr: 0.01)), new[] { 0.01, 0.03, 0.005 },
            new[] { 0.47872128960694965, -1.2568890607804895, 1.9618478154607573, -0.008526637482738785, -0.1003056886954491 }).SetName("Adam, lr 0.01 then 0.03 then 0.005");
        yield return new TestCaseData((Func<IEnumerable<Parameter>, Optimizer>)(ps => new SGD(ps, lr: 0.1, momentum: 0.9)), new[] { 0.1, 0.3, 0.05 },
            new[] { 0.42619999999999997, -1.3904, 1.8406, -0.35379999999999995, 0.5499999999999999 }).SetName("SGD momentum 0.9, lr 0.1 then 0.3 then 0.05");
    }

    [TestCaseSource(nameof(RateChanges))]
    public void LearningRateChangedBetweenSteps_MatchesPyTorch(Func<IEnumerable<Parameter>, Optimizer> make, double[] rates, double[] expected)
    {
        var a = new Parameter(Tensor.FromArray(Start[..3], [3]));
        var b = new Parameter(Tensor.FromArray(Start[3..], [2]));
        using var opt = make([a, b]);
        for (int step = 0; step < Grads.Length; step++)
        {
            opt.LearningRate = rates[step];
            opt.ZeroGrad();
            a.Grad.CopyFrom<double>(Grads[step][..3]);
            b.Grad.CopyFrom<double>(Grads[step][3..]);
            opt.Step();
        }
        double[] actual = [.. a.Value.ToArray<double>(), .. b.Value.ToArray<double>()];
        Close.Assert(expected, actual, 1e-15, 1e-13, "parameters after three steps at three learning rates");
        Assert.That(opt.LearningRate, Is.EqualTo(rates[^1]));
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
