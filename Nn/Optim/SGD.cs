using CudaNn.Backends;
using CudaNn.Kernels;
using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>SGD's hyperparameters with PyTorch's defaults (lr has none in PyTorch; 1e-2 here).</summary>
public sealed record SgdOptions(double Lr = 1e-2, double Momentum = 0, double Dampening = 0, bool Nesterov = false, double WeightDecay = 0)
{
    internal void Validate()
    {
        if (!(Lr >= 0)) throw new ArgumentOutOfRangeException(nameof(Lr), Lr, "SGD: invalid learning rate");
        if (!(Momentum >= 0)) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "SGD: invalid momentum");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "SGD: invalid weight decay");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentException("SGD: Nesterov momentum requires a momentum and zero dampening");
    }
}

/// <summary>
/// torch.optim.SGD: d = g + wd*p; with momentum, buf = d on the first step and mu*buf + (1-dampening)*d after,
/// d = nesterov ? d + mu*buf : buf; p -= lr*d. One pass over all parameters.
/// </summary>
public sealed class SGD : Optimizer
{
    private readonly Tensor? _momentum;
    private SgdOptions _options;

    public SGD(IEnumerable<Parameter> parameters, double lr = 1e-2, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0)
        : this(parameters, new SgdOptions(lr, momentum, dampening, nesterov, weightDecay))
    {
    }

    public SGD(IEnumerable<Parameter> parameters, SgdOptions options) : this([new ParamGroup(parameters)], options)
    {
    }

    /// <summary>Parameter groups, each with the options' learning rate and weight decay unless it has its own (param_groups).</summary>
    public SGD(IEnumerable<ParamGroup> groups, double lr = 1e-2, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0)
        : this(groups, new SgdOptions(lr, momentum, dampening, nesterov, weightDecay))
    {
    }

    public SGD(IEnumerable<ParamGroup> groups, SgdOptions options) : base(groups)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _momentum = options.Momentum != 0 ? StateBuffer() : null;
        _options = options;
        ApplyOptions(options.Lr, options.WeightDecay, keepGroupSettings: true);
    }

    /// <summary>
    /// The hyperparameters, with the first group's learning rate and weight decay. A new value is checked and takes
    /// effect from the next step, graphs included; its learning rate and weight decay go to every group (set one
    /// group's through <see cref="Optimizer.Groups"/>). Momentum may change, but not to or from 0: the momentum buffer
    /// exists or not from construction on.
    /// </summary>
    public SgdOptions Options
    {
        get => _options with { Lr = Groups[0].LearningRate, WeightDecay = Groups[0].WeightDecay };
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            if ((value.Momentum != 0) != (_momentum is not null))
                throw new ArgumentException(
                    $"SGD: momentum cannot change from {_options.Momentum} to {value.Momentum}: this optimizer was made " +
                    (_momentum is null ? "without a momentum buffer; create it with a nonzero momentum" : "with a momentum buffer; keep the momentum nonzero"));
            _options = value;
            ApplyOptions(value.Lr, value.WeightDecay, keepGroupSettings: false);
        }
    }

    private protected override double[] DeviceHyperparameters(double learningRate, double weightDecay) =>
        new SgdHyperparameters(learningRate, _options.Momentum, _options.Dampening, _options.Nesterov, weightDecay).DeviceValues();

    /// <summary>The momentum buffer, flat, in parameter order (state['momentum_buffer']); null without momentum.</summary>
    public Tensor? MomentumBuffer => _momentum;

    public override IReadOnlyDictionary<string, Tensor> StateBuffers() => _momentum is null
        ? new Dictionary<string, Tensor>()
        : new Dictionary<string, Tensor> { ["momentum_buffer"] = _momentum };

    private protected override Tensor?[] FlatState() => [_momentum];

    private protected override void Update(OptimizerGroup group, StepRun run) =>
        run.Values.Backend.SgdStep(run.Values, run.Grads, run.State[0], run.Step, group.Hyperparameters!);

    public override void Dispose()
    {
        _momentum?.Dispose();
        base.Dispose();
    }
}
