using System.Globalization;

namespace CudaNn.Optim;

/// <summary>
/// Base of the learning-rate schedules (torch.optim.lr_scheduler), with PyTorch 1.13's semantics for every parameter
/// group of the optimizer, each from its own initial rate. Construction takes the first step, so the optimizer already
/// runs at the schedule's epoch-0 rates; call <see cref="Step"/> after each epoch (or each batch, for a per-step
/// schedule) as in PyTorch.
/// </summary>
/// <remarks>
/// <code>
/// using var optimizer = new SGD(model.Parameters(), lr: 0.1);
/// var scheduler = new StepLR(optimizer, stepSize: 30, gamma: 0.1);
/// for (int epoch = 0; epoch &lt; 100; epoch++) { trainer.TrainEpoch(loader, epoch + 1); scheduler.Step(); }
/// </code>
/// Each step sets every group's <see cref="OptimizerGroup.LearningRate"/>, which the update reads from the device when it
/// runs, so a training step captured as a CUDA graph replays with the scheduled rates. Rates are computed in float64 by
/// the same recurrences as PyTorch's (the chainable form; the closed form where PyTorch uses it), so they agree with
/// PyTorch's to the last bit or two.
/// A schedule of your own derives from this class, implements <see cref="ChainedLearningRate"/> and
/// <see cref="ClosedFormLearningRate"/>, and calls <see cref="InitialStep"/> at the end of its constructor.
/// </remarks>
public abstract class LRScheduler
{
    private double[] _baseRates;
    private double[] _lastRates;

    /// <summary>
    /// Remembers each group's rate as its initial rate (PyTorch's param_groups[i]["initial_lr"]) unless an earlier
    /// schedule on the same optimizer already did; every rate the schedule sets derives from those.
    /// </summary>
    protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        foreach (var g in optimizer.Groups) g.InitialLearningRate ??= g.LearningRate;
        _baseRates = optimizer.Groups.Select(g => g.InitialLearningRate!.Value).ToArray();
        _lastRates = new double[_baseRates.Length];
    }

    public Optimizer Optimizer { get; }

    /// <summary>The rates the schedule derives from, one per group (PyTorch's base_lrs).</summary>
    public IReadOnlyList<double> BaseLearningRates => _baseRates;

    /// <summary>The first group's base rate (base_lrs[0]).</summary>
    public double BaseLearningRate => _baseRates[0];

    /// <summary>Index of the epoch the current rate belongs to (PyTorch's last_epoch): 0 after construction, +1 per step.</summary>
    public int LastEpoch { get; protected set; } = -1;

    /// <summary>Steps taken, the one at construction included (PyTorch's _step_count).</summary>
    public int StepCount { get; private set; }

    /// <summary>The rates the last step set, one per group (PyTorch's get_last_lr()).</summary>
    public IReadOnlyList<double> LastLearningRates => _lastRates;

    /// <summary>The first group's rate after the last step (get_last_lr()[0]).</summary>
    public double LastLearningRate => _lastRates[0];

    /// <summary>Moves to the next epoch and sets every group's rate for it.</summary>
    public virtual void Step()
    {
        StepCount++;
        LastEpoch++;
        var groups = Optimizer.Groups;
        for (int i = 0; i < groups.Count; i++) SetRate(i, ChainedLearningRate(groups[i].LearningRate, _baseRates[i]));
    }

    /// <summary>Jumps to <paramref name="epoch"/> by the closed form (PyTorch's step(epoch), which SequentialLR uses at a milestone).</summary>
    internal void StepTo(int epoch)
    {
        StepCount++;
        LastEpoch = epoch;
        for (int i = 0; i < _baseRates.Length; i++) SetRate(i, ClosedFormLearningRate(_baseRates[i]));
    }

    /// <summary>A group's rate for <see cref="LastEpoch"/> from its <paramref name="current"/> rate and <paramref name="baseRate"/> (PyTorch's get_lr).</summary>
    protected abstract double ChainedLearningRate(double current, double baseRate);

    /// <summary>A group's rate for <see cref="LastEpoch"/> from its <paramref name="baseRate"/> alone (PyTorch's _get_closed_form_lr).</summary>
    protected abstract double ClosedFormLearningRate(double baseRate);

    /// <summary>The step every schedule takes when it is made (PyTorch's _initial_step); call it last in a constructor.</summary>
    protected internal void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    /// <summary>Takes back a step's epoch, not its rate (SequentialLR undoes the initial steps of its parts).</summary>
    internal void UndoStep() => LastEpoch--;

    private void SetRate(int group, double rate)
    {
        Optimizer.Groups[group].LearningRate = rate;
        _lastRates[group] = rate;
    }

    /// <summary>Copies a part's last rates (SequentialLR reports its running part's).</summary>
    private protected void TakeLastRates(LRScheduler part) => _lastRates = part._lastRates.ToArray();

    /// <summary>Where the schedule stands (PyTorch's state_dict()), to save beside the optimizer's state.</summary>
    public virtual LRSchedulerState StateDict() => new(ToString()!, LastEpoch, StepCount, _baseRates.ToArray(), _lastRates.ToArray(), []);

    /// <summary>
    /// Continues from <paramref name="state"/> (PyTorch's load_state_dict). The optimizer's current rates are the
    /// optimizer's state, not the schedule's: a checkpoint restores them with the optimizer.
    /// </summary>
    /// <exception cref="ArgumentException">The state was saved by a different schedule, or for another number of groups.</exception>
    public virtual void LoadStateDict(LRSchedulerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Schedule != ToString())
            throw new ArgumentException($"the state was saved by {state.Schedule}, not by {this}", nameof(state));
        if (state.BaseLearningRates.Count != _baseRates.Length || state.LastLearningRates.Count != _baseRates.Length)
            throw new ArgumentException($"the state of {state.Schedule} holds rates for {state.BaseLearningRates.Count} parameter groups, not {_baseRates.Length}", nameof(state));
        if (state.LastEpoch < -1 || state.StepCount < 0 || !state.BaseLearningRates.Concat(state.LastLearningRates).All(double.IsFinite))
            throw new ArgumentException($"the state of {state.Schedule} is out of range", nameof(state));
        LastEpoch = state.LastEpoch;
        StepCount = state.StepCount;
        _baseRates = state.BaseLearningRates.ToArray();
        _lastRates = state.LastLearningRates.ToArray();
    }

    /// <summary>Numbers as a checkpoint's metadata and the command line write them, the same on every culture.</summary>
    private protected static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private protected static void RequireFinitePositive(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number above 0");
    }

    private protected static void RequireFactor(double value, string name, bool zeroAllowed)
    {
        if (!(zeroAllowed ? value >= 0 : value > 0) || value > 1)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in {(zeroAllowed ? "[0" : "(0")}, 1]");
    }
}

/// <summary>
/// A schedule's position (PyTorch's state_dict): <see cref="Schedule"/> names the schedule and its settings, so state
/// is never loaded into a different one; <see cref="Children"/> holds the states of a <see cref="SequentialLR"/>'s parts.
/// </summary>
public sealed record LRSchedulerState(string Schedule, int LastEpoch, int StepCount, IReadOnlyList<double> BaseLearningRates,
    IReadOnlyList<double> LastLearningRates, IReadOnlyList<LRSchedulerState> Children);

/// <summary>torch.optim.lr_scheduler.StepLR: multiplies the rate by <see cref="Gamma"/> every <see cref="StepSize"/> epochs.</summary>
public sealed class StepLR : LRScheduler
{
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepSize);
        RequireFinitePositive(gamma, nameof(gamma));
        (StepSize, Gamma) = (stepSize, gamma);
        InitialStep();
    }

    public int StepSize { get; }
    public double Gamma { get; }

    protected override double ChainedLearningRate(double current, double baseRate) =>
        LastEpoch == 0 || LastEpoch % StepSize != 0 ? current : current * Gamma;

    protected override double ClosedFormLearningRate(double baseRate) => baseRate * Math.Pow(Gamma, LastEpoch / StepSize);

    public override string ToString() => $"StepLR(step_size={StepSize}, gamma={Format(Gamma)})";
}

/// <summary>
/// torch.optim.lr_scheduler.MultiStepLR: multiplies the rate by <see cref="Gamma"/> at each milestone epoch (a
/// milestone given twice multiplies twice, as PyTorch's Counter does).
/// </summary>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.Order().ToArray();
        if (_milestones.Length == 0) throw new ArgumentException("MultiStepLR needs at least one milestone", nameof(milestones));
        if (_milestones[0] <= 0) throw new ArgumentOutOfRangeException(nameof(milestones), _milestones[0], "milestones are epochs above 0");
        RequireFinitePositive(gamma, nameof(gamma));
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestones in increasing order.</summary>
    public IReadOnlyList<int> Milestones => _milestones;
    public double Gamma { get; }

    protected override double ChainedLearningRate(double current, double baseRate)
    {
        int times = _milestones.Count(m => m == LastEpoch);
        return times == 0 ? current : current * Math.Pow(Gamma, times);
    }

    protected override double ClosedFormLearningRate(double baseRate) =>
        baseRate * Math.Pow(Gamma, _milestones.Count(m => m <= LastEpoch));

    public override string ToString() => $"MultiStepLR(milestones=[{string.Join(", ", _milestones)}], gamma={Format(Gamma)})";
}

/// <summary>torch.optim.lr_scheduler.ExponentialLR: multiplies the rate by <see cref="Gamma"/> every epoch.</summary>
public sealed class ExponentialLR : LRScheduler
{
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        RequireFinitePositive(gamma, nameof(gamma));
        Gamma = gamma;
        InitialStep();
    }

    public double Gamma { get; }

    protected override double ChainedLearningRate(double current, double baseRate) => LastEpoch == 0 ? current : current * Gamma;

    protected override double ClosedFormLearningRate(double baseRate) => baseRate * Math.Pow(Gamma, LastEpoch);

    public override string ToString() => $"ExponentialLR(gamma={Format(Gamma)})";
}

/// <summary>
/// torch.optim.lr_scheduler.CosineAnnealingLR: the rate follows half a cosine from the base rate down to
/// <see cref="EtaMin"/> over <see cref="TMax"/> epochs, and back up over the next <see cref="TMax"/> if training goes on.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tMax);
        if (!(etaMin >= 0) || !double.IsFinite(etaMin)) throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, "etaMin must be a finite number, 0 or above");
        (TMax, EtaMin) = (tMax, etaMin);
        InitialStep();
    }

    public int TMax { get; }
    public double EtaMin { get; }

    protected override double ChainedLearningRate(double current, double baseRate)
    {
        if (LastEpoch == 0) return current;
        if (StepCount == 1 && LastEpoch > 0)
            return EtaMin + (baseRate - EtaMin) * (1 + Math.Cos(LastEpoch * Math.PI / TMax)) / 2;
        if ((LastEpoch - 1 - TMax) % (2 * TMax) == 0)
            return current + (baseRate - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2;
        return (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / (1 + Math.Cos(Math.PI * (LastEpoch - 1) / TMax)) * (current - EtaMin) + EtaMin;
    }

    protected override double ClosedFormLearningRate(double baseRate) =>
        EtaMin + (baseRate - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2;

    public override string ToString() => $"CosineAnnealingLR(T_max={TMax}, eta_min={Format(EtaMin)})";
}

/// <summary>
/// torch.optim.lr_scheduler.LinearLR, the usual warm-up: the rate is the base rate times a factor that moves in a
/// straight line from <see cref="StartFactor"/> to <see cref="EndFactor"/> over <see cref="TotalIters"/> epochs, then stays.
/// </summary>
public sealed class LinearLR : LRScheduler
{
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5) : base(optimizer)
    {
        // PyTorch 1.13 lets startFactor be 0, whose first chained step divides by zero; later versions refuse it, as here.
        RequireFactor(startFactor, nameof(startFactor), zeroAllowed: false);
        RequireFactor(endFactor, nameof(endFactor), zeroAllowed: true);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalIters);
        (StartFactor, EndFactor, TotalIters) = (startFactor, endFactor, totalIters);
        InitialStep();
    }

    public double StartFactor { get; }
    public double EndFactor { get; }
    public int TotalIters { get; }

    protected override double ChainedLearningRate(double current, double baseRate)
    {
        if (LastEpoch == 0) return current * StartFactor;
        if (LastEpoch > TotalIters) return current;
        return current * (1.0 + (EndFactor - StartFactor) / (TotalIters * StartFactor + (LastEpoch - 1) * (EndFactor - StartFactor)));
    }

    protected override double ClosedFormLearningRate(double baseRate) =>
        baseRate * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters);

    public override string ToString() =>
        $"LinearLR(start_factor={Format(StartFactor)}, end_factor={Format(EndFactor)}, total_iters={TotalIters})";
}

/// <summary>
/// torch.optim.lr_scheduler.ConstantLR: the base rate times <see cref="Factor"/> for the first
/// <see cref="TotalIters"/> epochs, then the base rate.
/// </summary>
public sealed class ConstantLR : LRScheduler
{
    public ConstantLR(Optimizer optimizer, double factor = 1.0 / 3, int totalIters = 5) : base(optimizer)
    {
        // PyTorch 1.13 lets factor be 0, which divides by zero when the constant phase ends; refused here.
        RequireFactor(factor, nameof(factor), zeroAllowed: false);
        ArgumentOutOfRangeException.ThrowIfNegative(totalIters);
        (Factor, TotalIters) = (factor, totalIters);
        InitialStep();
    }

    public double Factor { get; }
    public int TotalIters { get; }

    protected override double ChainedLearningRate(double current, double baseRate)
    {
        if (LastEpoch == 0) return current * Factor;
        return LastEpoch == TotalIters ? current * (1.0 / Factor) : current;
    }

    protected override double ClosedFormLearningRate(double baseRate) =>
        baseRate * (Factor + (LastEpoch >= TotalIters ? 1 - Factor : 0));

    public override string ToString() => $"ConstantLR(factor={Format(Factor)}, total_iters={TotalIters})";
}

/// <summary>
/// torch.optim.lr_scheduler.SequentialLR: runs <c>schedulers[0]</c> until <c>milestones[0]</c>, then
/// <c>schedulers[1]</c> from its epoch 0, and so on; the usual warm-up then decay:
/// <code>
/// var warmUp = new LinearLR(optimizer, startFactor: 0.1, totalIters: 5);
/// var decay = new CosineAnnealingLR(optimizer, tMax: 45);
/// var scheduler = new SequentialLR(optimizer, [warmUp, decay], milestones: [5]);
/// </code>
/// </summary>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count == 0) throw new ArgumentException("SequentialLR needs at least one schedule", nameof(schedulers));
        for (int i = 0; i < schedulers.Count; i++)
        {
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                throw new ArgumentException($"schedule {i} ({schedulers[i]}) belongs to another optimizer; SequentialLR's schedules share its optimizer", nameof(schedulers));
            if (schedulers[i] is SequentialLR)
                throw new ArgumentException($"schedule {i} is itself a SequentialLR; list its parts instead", nameof(schedulers));
        }
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException($"{schedulers.Count} schedules need {schedulers.Count - 1} milestones, got {milestones.Count}", nameof(milestones));
        for (int i = 0; i < milestones.Count; i++)
            if (milestones[i] <= (i == 0 ? 0 : milestones[i - 1]))
                throw new ArgumentException($"milestones must be increasing epochs above 0, got [{string.Join(", ", milestones)}]", nameof(milestones));
        _schedulers = schedulers.ToArray();
        _milestones = milestones.ToArray();

        // As PyTorch: every part stepped once when it was made; go back to the initial rate, undo those steps, and let
        // only the first part take its initial step.
        LastEpoch = 0;
        foreach (var g in optimizer.Groups) g.LearningRate = g.InitialLearningRate!.Value;
        foreach (var s in _schedulers) s.UndoStep();
        _schedulers[0].InitialStep();
        TakeLastRates(_schedulers[0]);
    }

    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;
    public IReadOnlyList<int> Milestones => _milestones;

    public override void Step()
    {
        LastEpoch++;
        int index = _milestones.Count(m => m <= LastEpoch);
        var scheduler = _schedulers[index];
        if (index > 0 && _milestones[index - 1] == LastEpoch) scheduler.StepTo(0);
        else scheduler.Step();
        TakeLastRates(scheduler);
    }

    /// <summary>Never called: <see cref="Step"/> hands every step to a part.</summary>
    protected override double ChainedLearningRate(double current, double baseRate) => throw new NotSupportedException();

    /// <inheritdoc cref="ChainedLearningRate"/>
    protected override double ClosedFormLearningRate(double baseRate) => throw new NotSupportedException();

    public override LRSchedulerState StateDict() => base.StateDict() with { Children = _schedulers.Select(s => s.StateDict()).ToArray() };

    public override void LoadStateDict(LRSchedulerState state)
    {
        base.LoadStateDict(state);
        if (state.Children.Count != _schedulers.Length)
            throw new ArgumentException($"the state holds {state.Children.Count} schedules' states, not {_schedulers.Length}", nameof(state));
        for (int i = 0; i < _schedulers.Length; i++) _schedulers[i].LoadStateDict(state.Children[i]);
    }

    public override string ToString() =>
        $"SequentialLR([{string.Join(", ", _schedulers.Select(s => s.ToString()))}], milestones=[{string.Join(", ", _milestones)}])";
}
