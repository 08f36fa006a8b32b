using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>
/// Parameters with a learning rate or weight decay of their own, an entry of PyTorch's param_groups; null takes the
/// optimizer's. <code>new Adam([new ParamGroup(body.Parameters()), new ParamGroup(head.Parameters(), Lr: 1e-2)], lr: 1e-3)</code>
/// </summary>
public sealed record ParamGroup(IEnumerable<Parameter> Parameters, double? Lr = null, double? WeightDecay = null);

/// <summary>
/// One group of an optimizer's parameters as it trains (PyTorch's optimizer.param_groups[i]): its learning rate and
/// weight decay can be changed between steps and take effect from the next one, graphs included.
/// </summary>
public sealed class OptimizerGroup
{
    private readonly Optimizer _owner;
    private double _learningRate;
    private double _weightDecay;

    internal OptimizerGroup(Optimizer owner, int index, IReadOnlyList<Parameter> parameters, Tensor values, Tensor grads)
    {
        (_owner, Index, Parameters, Values, Grads) = (owner, index, parameters, values, grads);
        Step = Tensor.Zeros([1], DType.Int32, values.Device);
    }

    /// <summary>The group's position in <see cref="Optimizer.Groups"/>, which also picks its slice of every state buffer.</summary>
    internal int Index { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>param_groups[i]["lr"].</summary>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            _owner.CheckGroupSetting(nameof(LearningRate), value);
            _learningRate = value;
            _owner.WriteGroupHyperparameters(this);
        }
    }

    /// <summary>param_groups[i]["weight_decay"].</summary>
    public double WeightDecay
    {
        get => _weightDecay;
        set
        {
            _owner.CheckGroupSetting(nameof(WeightDecay), value);
            _weightDecay = value;
            _owner.WriteGroupHyperparameters(this);
        }
    }

    /// <summary>param_groups[i]["initial_lr"]: the rate the first learning-rate schedule made for the optimizer started from; null before.</summary>
    public double? InitialLearningRate { get; internal set; }

    /// <summary>The group's values and gradients: consecutive slices of the optimizer's flat buffers.</summary>
    internal Tensor Values { get; }
    internal Tensor Grads { get; }

    /// <summary>The group's step count on the device (int32, one element), which its update launch increments.</summary>
    internal Tensor Step { get; }

    /// <summary>The group's hyperparameters on the device (float64), in the layout the backend's update expects.</summary>
    internal Tensor? Hyperparameters { get; set; }

    /// <summary>Sets both without writing them to the device; the caller writes them next.</summary>
    internal void SetQuietly(double learningRate, double weightDecay) => (_learningRate, _weightDecay) = (learningRate, weightDecay);

    internal void Dispose()
    {
        Step.Dispose();
        Hyperparameters?.Dispose();
    }
}

/// <summary>
/// Base of the optimizers (torch.optim.Optimizer). At construction the parameters are packed, group after group, into
/// one flat value buffer and one flat gradient buffer, so Step is one pass per group (and ZeroGrad no pass at all: the
/// backward writes the gradients it cleared). The step
/// count and the hyperparameters live beside them on the device, where the update reads them when it runs: a training
/// step captured as a CUDA graph replays with the current count and the options last set, so changing the learning
/// rate between steps (by hand or by a schedule) works the same with graphs as without.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly OptimizerGroup[] _groups;

    protected Optimizer(IEnumerable<Parameter> parameters) : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))])
    {
    }

    /// <summary>Groups whose learning rate and weight decay start as given, or as the options' when null.</summary>
    protected Optimizer(IEnumerable<ParamGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var given = groups.Select(g => (g ?? throw new ArgumentNullException(nameof(groups)), g.Parameters.ToList())).ToList();
        if (given.Count == 0) throw new ArgumentException("the optimizer got no parameter groups", nameof(groups));
        for (int i = 0; i < given.Count; i++)
            if (given[i].Item2.Count == 0) throw new ArgumentException($"parameter group {i} is empty", nameof(groups));
        Parameters = given.SelectMany(g => g.Item2).ToList();
        (FlatValues, FlatGrads) = ParameterPacking.Pack(Parameters);
        Gradients = new PackedGradients(Parameters, FlatGrads, GetType().Name);
        GroupSettings = given.Select(g => (g.Item1.Lr, g.Item1.WeightDecay)).ToArray();
        _groups = new OptimizerGroup[given.Count];
        int start = 0;
        for (int i = 0; i < given.Count; i++)
        {
            int count = checked((int)given[i].Item2.Sum(p => p.Numel));
            _groups[i] = new OptimizerGroup(this, i, given[i].Item2, Slice(FlatValues, start, count), Slice(FlatGrads, start, count));
            start += count;
        }
    }

    /// <summary>The learning rate and weight decay each group was given, null where the options decide.</summary>
    private protected (double? Lr, double? WeightDecay)[] GroupSettings { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The parameter groups in the order given (PyTorch's param_groups); one group unless groups were given.</summary>
    public IReadOnlyList<OptimizerGroup> Groups => _groups;

    /// <summary>Number of steps taken so far (PyTorch's state['step']); each group's device counter holds the same count.</summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// The learning rate: getting it gives the first group's (param_groups[0]["lr"]); setting it sets every group's, as
    /// <c>for g in optimizer.param_groups: g["lr"] = lr</c> does. It takes effect from the next step.
    /// </summary>
    public double LearningRate
    {
        get => _groups[0].LearningRate;
        set
        {
            CheckGroupSetting(nameof(LearningRate), value);
            foreach (var g in _groups) g.LearningRate = value;
        }
    }

    /// <summary>The first group's <see cref="OptimizerGroup.InitialLearningRate"/>.</summary>
    public double? InitialLearningRate => _groups[0].InitialLearningRate;

    /// <summary>All parameter values, one flat view.</summary>
    protected Tensor FlatValues { get; }

    /// <summary>All gradients, one flat view.</summary>
    protected Tensor FlatGrads { get; }

    /// <summary>
    /// All gradients, one flat buffer: <see cref="PackedGradients.Read"/> gives them for clipping, averaging over ranks or
    /// the step, each one no backward wrote since ZeroGrad holding zeros.
    /// </summary>
    internal PackedGradients Gradients { get; }

    /// <summary>All parameter values, one flat view, for broadcasting them in one collective.</summary>
    internal Tensor AllValues => FlatValues;

    /// <summary>
    /// Clears every gradient (optimizer.zero_grad(), whose default set_to_none=True this follows): no device work now;
    /// the next backward writes each gradient instead of adding to it, and a gradient no backward writes before it is
    /// read or stepped on is zeroed then (<see cref="Parameter.Grad"/>).
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ClearGrad();
    }

    /// <summary>Updates every parameter from its gradient, one update per group.</summary>
    public void Step()
    {
        Gradients.Read();
        foreach (var g in _groups) Update(g);
        StepCount++;
    }

    /// <summary>One group's update through the backend, which increments the group's step counter.</summary>
    private protected abstract void Update(OptimizerGroup group);

    /// <summary>The float64 values of a group's hyperparameter buffer for its learning rate and weight decay.</summary>
    private protected abstract double[] DeviceHyperparameters(double learningRate, double weightDecay);

    /// <summary>Rejects a rate or weight decay PyTorch would reject, naming the optimizer.</summary>
    internal void CheckGroupSetting(string what, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(what, value, $"{GetType().Name}: invalid {(what == nameof(LearningRate) ? "learning rate" : "weight decay")}");
    }

    /// <summary>
    /// Sets every group's learning rate and weight decay from options (each group's own where it was given one at
    /// construction and <paramref name="keepGroupSettings"/>), then writes every group's device hyperparameters.
    /// </summary>
    private protected void ApplyOptions(double learningRate, double weightDecay, bool keepGroupSettings)
    {
        for (int i = 0; i < _groups.Length; i++)
        {
            var (lr, wd) = keepGroupSettings ? GroupSettings[i] : (null, null);
            CheckGroupSetting(nameof(LearningRate), lr ?? learningRate);
            CheckGroupSetting(nameof(OptimizerGroup.WeightDecay), wd ?? weightDecay);
            _groups[i].SetQuietly(lr ?? learningRate, wd ?? weightDecay);
            WriteGroupHyperparameters(_groups[i]);
        }
    }

    /// <summary>Copies a group's hyperparameters to its device buffer (a synchronous copy, so never inside a graph capture).</summary>
    internal void WriteGroupHyperparameters(OptimizerGroup group)
    {
        double[] values = DeviceHyperparameters(group.LearningRate, group.WeightDecay);
        group.Hyperparameters ??= Tensor.Empty([values.Length], DType.Float64, FlatValues.Device);
        group.Hyperparameters.CopyFrom<double>(values);
    }

    /// <summary>Counts a step that a replayed capture of <see cref="Step"/> took on the device without this object.</summary>
    internal void CountReplayedStep() => StepCount++;

    /// <summary>Sets the step count, on the host and on the device (resuming from a checkpoint).</summary>
    public void RestoreStepCount(long steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (steps > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(steps), steps, "more steps than the device counter holds");
        foreach (var g in _groups) g.Step.CopyFrom<int>([(int)steps]);
        StepCount = steps;
    }

    /// <summary>
    /// The flat state buffers by PyTorch's state key ("exp_avg", "exp_avg_sq", "momentum_buffer"), in parameter order,
    /// so a checkpoint can save them and copy them back; empty for a stateless optimizer.
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> StateBuffers() => new Dictionary<string, Tensor>();

    /// <summary>A flat buffer of zeros beside the parameters, for optimizer state (moments, momentum).</summary>
    protected Tensor StateBuffer() => Tensor.Zeros(FlatValues.Shape, FlatValues.DType, FlatValues.Device);

    /// <summary>Each group's slice of a flat state buffer, in group order.</summary>
    private protected Tensor[] GroupSlices(Tensor flat)
    {
        var slices = new Tensor[_groups.Length];
        long start = 0;
        for (int i = 0; i < _groups.Length; i++)
        {
            int count = _groups[i].Values.Shape[0];
            slices[i] = Slice(flat, start, count);
            start += count;
        }
        return slices;
    }

    private static Tensor Slice(Tensor flat, long start, int count) =>
        start == 0 && count == flat.Numel ? flat : flat.Narrow(checked((int)start), count);

    public virtual void Dispose()
    {
        Gradients.Release();
        foreach (var g in _groups) g.Dispose();
        FlatValues.Dispose();
        FlatGrads.Dispose();
        GC.SuppressFinalize(this);
    }
}
