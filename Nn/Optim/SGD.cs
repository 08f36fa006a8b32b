using CudaNn.Backends;
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

    public SGD(IEnumerable<Parameter> parameters, double lr = 1e-2, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0)
        : this(parameters, new SgdOptions(lr, momentum, dampening, nesterov, weightDecay))
    {
    }

    public SGD(IEnumerable<Parameter> parameters, SgdOptions options) : base(parameters)
    {
        options.Validate();
        Options = options;
        _momentum = options.Momentum != 0 ? StateBuffer() : null;
    }

    public SgdOptions Options { get; }

    /// <summary>The momentum buffer, flat, in parameter order (state['momentum_buffer']); null without momentum.</summary>
    public Tensor? MomentumBuffer => _momentum;

    public override IReadOnlyDictionary<string, Tensor> StateBuffers() => _momentum is null
        ? new Dictionary<string, Tensor>()
        : new Dictionary<string, Tensor> { ["momentum_buffer"] = _momentum };

    protected override void Update()
    {
        var o = Options;
        FlatValues.Backend.SgdStep(FlatValues, FlatGrads, _momentum, StepTensor,
            new SgdStepArgs(o.Lr, o.Momentum, o.Dampening, o.Nesterov, o.WeightDecay));
    }

    public override void Dispose()
    {
        _momentum?.Dispose();
        base.Dispose();
    }
}
