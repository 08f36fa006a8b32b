using CudaNn.Backends;
using CudaNn.Kernels;
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

    public Adam(IEnumerable<Parameter> parameters, AdamOptions options) : this([new ParamGroup(parameters)], options, decoupled: false)
    {
    }

    /// <summary>Parameter groups, each with the options' learning rate and weight decay unless it has its own (param_groups).</summary>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this(groups, new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad), decoupled: false)
    {
    }

    private protected Adam(IEnumerable<ParamGroup> groups, AdamOptions options, bool decoupled) : base(groups)
    {
        Decoupled = decoupled;
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(GetType().Name);
        _m = StateBuffer();
        _v = StateBuffer();
        if (options.Amsgrad) _maxV = StateBuffer();
        _options = options;
        ApplyOptions(options.Lr, options.WeightDecay, keepGroupSettings: true);
    }

    /// <summary>
    /// The hyperparameters, with the first group's learning rate and weight decay. A new value is checked and takes
    /// effect from the next step, graphs included; its learning rate and weight decay go to every group (set one
    /// group's through <see cref="Optimizer.Groups"/>).
    /// </summary>
    public AdamOptions Options
    {
        get => _options with { Lr = Groups[0].LearningRate, WeightDecay = Groups[0].WeightDecay };
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate(GetType().Name);
            if (value.Amsgrad != (_maxV is not null))
                throw new ArgumentException($"{GetType().Name}.Options: amsgrad is fixed when the optimizer is made (it decides whether max_exp_avg_sq exists)");
            _options = value;
            ApplyOptions(value.Lr, value.WeightDecay, keepGroupSettings: false);
        }
    }

    private protected override double[] DeviceHyperparameters(double learningRate, double weightDecay) =>
        new AdamHyperparameters(learningRate, _options.Beta1, _options.Beta2, _options.Eps, weightDecay, Decoupled).DeviceValues();

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

    private protected override Tensor?[] FlatState() => [_m, _v, _maxV];

    private protected override void Update(OptimizerGroup group, StepRun run) =>
        run.Values.Backend.AdamStep(run.Values, run.Grads, run.State[0]!, run.State[1]!, run.Step, group.Hyperparameters!, Decoupled, run.State[2]);

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
        : base([new ParamGroup(parameters)], new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad), decoupled: true)
    {
    }

    /// <summary>Parameter groups, each with the options' learning rate and weight decay unless it has its own (param_groups).</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base(groups, new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad), decoupled: true)
    {
    }
}
