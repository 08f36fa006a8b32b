using CudaNn.Backends;
using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>Adam's hyperparameters with PyTorch's defaults.</summary>
public sealed record AdamOptions(double Lr = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8, double WeightDecay = 0,
    bool Amsgrad = false)
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
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). One pass over all parameters. With amsgrad, the running
/// maximum of v (state['max_exp_avg_sq']) stands for v in the denominator.
/// <code>var opt = new Adam(model.Parameters(), lr: 1e-3);</code>
/// </summary>
public class Adam : Optimizer
{
    private readonly Tensor _m;
    private readonly Tensor _v;
    private readonly Tensor? _maxV;
    private AdamOptions _options;

    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this(parameters, new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad))
    {
    }

    public Adam(IEnumerable<Parameter> parameters, AdamOptions options) : this(parameters, options, decoupled: false)
    {
    }

    private protected Adam(IEnumerable<Parameter> parameters, AdamOptions options, bool decoupled) : base(parameters)
    {
        Decoupled = decoupled;
        ArgumentNullException.ThrowIfNull(options);
        _m = StateBuffer();
        _v = StateBuffer();
        if (options.Amsgrad) _maxV = StateBuffer();
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
            if (value.Amsgrad != (_maxV is not null))
                throw new ArgumentException($"{GetType().Name}.Options: amsgrad is fixed when the optimizer is made (it decides whether max_exp_avg_sq exists)");
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

    /// <summary>With amsgrad, the running maximum of the second moments (state['max_exp_avg_sq']); null without.</summary>
    public Tensor? MaxExpAvgSq => _maxV;

    public override IReadOnlyDictionary<string, Tensor> StateBuffers()
    {
        var buffers = new Dictionary<string, Tensor> { ["exp_avg"] = _m, ["exp_avg_sq"] = _v };
        if (_maxV is not null) buffers["max_exp_avg_sq"] = _maxV;
        return buffers;
    }

    protected override void Update() => FlatValues.Backend.AdamStep(FlatValues, FlatGrads, _m, _v, StepTensor, Hyperparameters!, Decoupled, _maxV);

    public override void Dispose()
    {
        _m.Dispose();
        _v.Dispose();
        _maxV?.Dispose();
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
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base(parameters, new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad), decoupled: true)
    {
    }
}
