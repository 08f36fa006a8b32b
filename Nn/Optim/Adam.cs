using CudaNn.Backends;
using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>Adam's hyperparameters with PyTorch's defaults.</summary>
public sealed record AdamOptions(double Lr = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8, double WeightDecay = 0)
{
    internal void Validate(string name)
    {
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), Lr, $"{name}: invalid learning rate");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps), Eps, $"{name}: invalid epsilon");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, $"{name}: invalid beta1, must be in [0, 1)");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, $"{name}: invalid beta2, must be in [0, 1)");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, $"{name}: invalid weight decay");
    }
}

/// <summary>
/// torch.optim.Adam: g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). One pass over all parameters.
/// <code>var opt = new Adam(model.Parameters(), lr: 1e-3);</code>
/// </summary>
public class Adam : Optimizer
{
    private readonly Tensor _m;
    private readonly Tensor _v;
    private AdamOptions _options;

    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0)
        : this(parameters, new AdamOptions(lr, beta1, beta2, eps, weightDecay))
    {
    }

    public Adam(IEnumerable<Parameter> parameters, AdamOptions options) : this(parameters, options, decoupled: false)
    {
    }

    private protected Adam(IEnumerable<Parameter> parameters, AdamOptions options, bool decoupled) : base(parameters)
    {
        Decoupled = decoupled;
        _m = StateBuffer();
        _v = StateBuffer();
        Options = _options = options;
    }

    /// <summary>The hyperparameters; a new value is checked and takes effect from the next step, graphs included.</summary>
    public AdamOptions Options
    {
        get => _options;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate(GetType().Name);
            _options = value;
            WriteHyperparameters(new AdamStepArgs(value.Lr, value.Beta1, value.Beta2, value.Eps, value.WeightDecay, Decoupled).ToArray());
        }
    }

    public override double LearningRate
    {
        get => Options.Lr;
        set => Options = Options with { Lr = value };
    }

    /// <summary>True for AdamW: weight decay shrinks the parameters directly instead of adding to the gradient.</summary>
    public bool Decoupled { get; }

    /// <summary>First moments, flat, in parameter order (state['exp_avg']).</summary>
    public Tensor ExpAvg => _m;

    /// <summary>Second moments, flat, in parameter order (state['exp_avg_sq']).</summary>
    public Tensor ExpAvgSq => _v;

    public override IReadOnlyDictionary<string, Tensor> StateBuffers() =>
        new Dictionary<string, Tensor> { ["exp_avg"] = _m, ["exp_avg_sq"] = _v };

    protected override void Update() => FlatValues.Backend.AdamStep(FlatValues, FlatGrads, _m, _v, StepTensor, Hyperparameters!, Decoupled);

    public override void Dispose()
    {
        _m.Dispose();
        _v.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// torch.optim.AdamW: Adam with decoupled weight decay, p *= 1 - lr*wd before the Adam update;
/// PyTorch's default weight decay 1e-2.
/// </summary>
public sealed class AdamW : Adam
{
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2)
        : base(parameters, new AdamOptions(lr, beta1, beta2, eps, weightDecay), decoupled: true)
    {
    }
}
