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

    /// <summary>The group's step count on the device (int32, one element), which its update launch increments; its first run's counter.</summary>
    internal Tensor Step { get; }

    /// <summary>
    /// The group's parameters in runs that have stepped equally often, each updated by one launch with its own device
    /// counter: one run while every step reaches every parameter, split where a step skips some (PyTorch's per-parameter
    /// state['step']). Made on the first step.
    /// </summary>
    internal List<StepRun>? Runs { get; set; }

    /// <summary>The group's hyperparameters on the device (float64), in the layout the backend's update expects.</summary>
    internal Tensor? Hyperparameters { get; set; }

    /// <summary>Sets both without writing them to the device; the caller writes them next.</summary>
    internal void SetQuietly(double learningRate, double weightDecay) => (_learningRate, _weightDecay) = (learningRate, weightDecay);

    internal void Dispose()
    {
        Step.Dispose();
        foreach (var run in Runs ?? [])
            if (!ReferenceEquals(run.Step, Step)) run.Step.Dispose();
        Hyperparameters?.Dispose();
    }
}

/// <summary>
/// Consecutive parameters of one group that have taken the same number of steps: their values, gradients and state as
/// slices of the flat buffers, and the device counter the update increments.
/// </summary>
internal sealed class StepRun
{
    /// <summary>The run's first parameter, as an index into its group's parameters, and how many it spans.</summary>
    public required int First { get; init; }
    public required int Count { get; init; }

    /// <summary>Steps taken, as the device counter holds them (every launch, replays included, is counted here).</summary>
    public required long Steps { get; set; }

    public required Tensor Values { get; init; }
    public required Tensor Grads { get; init; }
    public required Tensor Step { get; init; }

    /// <summary>The run's slice of each of the optimizer's state buffers, in the order the optimizer lists them (null where one is off).</summary>
    public required Tensor?[] State { get; init; }
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
        _offsets = ParameterPacking.Offsets(Parameters);
        Gradients = new PackedGradients(Parameters, FlatGrads, GetType().Name);
        GroupSettings = given.Select(g => (g.Item1.Lr, g.Item1.WeightDecay)).ToArray();
        _groups = new OptimizerGroup[given.Count];
        _groupFirst = new int[given.Count];
        for (int i = 0, first = 0; i < given.Count; first += given[i].Item2.Count, i++)
        {
            _groupFirst[i] = first;
            var (start, count) = Span(first, given[i].Item2.Count);
            _groups[i] = new OptimizerGroup(this, i, given[i].Item2, Slice(FlatValues, start, count), Slice(FlatGrads, start, count));
        }
    }

    // Each parameter's first element in the flat buffers, and each group's first parameter in Parameters.
    private readonly long[] _offsets;
    private readonly int[] _groupFirst;

    /// <summary>Where parameters [first, first + count) of <see cref="Parameters"/> lie in the flat buffers, the gaps between them included.</summary>
    private (long Start, int Count) Span(int first, int count) =>
        (_offsets[first], checked((int)(_offsets[first + count - 1] + Parameters[first + count - 1].Numel - _offsets[first])));

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
        // Indexed, not foreach: enumerating the list through its interface would allocate an enumerator every step.
        for (int i = 0; i < Parameters.Count; i++) Parameters[i].ClearGrad();
    }

    /// <summary>
    /// Updates every parameter that has a gradient, one update per group while every parameter has one. A parameter
    /// no backward reached since ZeroGrad (<see cref="Parameter.HasGrad"/>) is skipped, as PyTorch skips a grad of
    /// None: no weight decay, no momentum, its moments and its own step count left as they were.
    /// </summary>
    public void Step()
    {
        Gradients.Read();
        _stepped.Clear();
        foreach (var g in _groups)
        {
            g.Runs ??= [Part(g, StepCount, 0, g.Parameters.Count, g.Step)];
            for (int r = 0; r < g.Runs.Count; r++)
            {
                var run = g.Runs[r];
                int given = 0;
                for (int i = run.First; i < run.First + run.Count; i++)
                    if (g.Parameters[i].HasGrad) given++;
                if (given == 0) continue;
                if (given < run.Count)
                {
                    Split(g, r--);
                    continue;
                }
                Update(g, run);
                run.Steps++;
                _stepped.Add(run);
            }
        }
        StepCount++;
    }

    /// <summary>The runs the last <see cref="Step"/> updated, which a replay of its capture updates again.</summary>
    private readonly List<StepRun> _stepped = [];

    /// <summary>
    /// Cuts run <paramref name="index"/> of <paramref name="group"/> where its parameters' gradients change from given to
    /// not (a step reached only some of them), each part keeping the run's count on a counter of its own (the first
    /// keeps the run's). Any captured step holds the old runs, so it is captured again; a counter cannot be set while a
    /// step is being captured, so there this is an error.
    /// </summary>
    private void Split(OptimizerGroup group, int index)
    {
        if (FlatValues.Device is Backends.Cuda.CudaDevice gpu)
        {
            if (gpu.IsCapturing)
                throw new InvalidOperationException($"{GetType().Name}.Step: this captured step reaches only some of the parameters that earlier steps " +
                    "reached together; run such a step once without capturing it first");
            gpu.NoteCapturedStateChanged();
        }
        var run = group.Runs![index];
        var parts = new List<StepRun>();
        for (int first = run.First; first < run.First + run.Count;)
        {
            bool given = group.Parameters[first].HasGrad;
            int end = first;
            while (end < run.First + run.Count && group.Parameters[end].HasGrad == given) end++;
            parts.Add(Part(group, run.Steps, first, end - first, parts.Count == 0 ? run.Step : null));
            first = end;
        }
        group.Runs.RemoveAt(index);
        group.Runs.InsertRange(index, parts);
    }

    /// <summary>Parameters [first, first + count) of <paramref name="group"/> as a run that has taken <paramref name="steps"/>, on <paramref name="counter"/> or a new one set to that.</summary>
    private StepRun Part(OptimizerGroup group, long steps, int first, int count, Tensor? counter)
    {
        var (start, length) = Span(_groupFirst[group.Index] + first, count);
        if (counter is null)
        {
            counter = Tensor.Zeros([1], DType.Int32, FlatValues.Device);
            counter.CopyFrom<int>([checked((int)steps)]);
        }
        return new StepRun
        {
            First = first, Count = count, Steps = steps, Step = counter,
            Values = Slice(FlatValues, start, length), Grads = Slice(FlatGrads, start, length),
            State = FlatState().Select(b => b is null ? null : Slice(b, start, length)).ToArray(),
        };
    }

    /// <summary>The optimizer's flat state buffers (moments, momentum), in the order its update takes them; null where one is off.</summary>
    private protected abstract Tensor?[] FlatState();

    /// <summary>One run's update through the backend, which increments the run's step counter.</summary>
    private protected abstract void Update(OptimizerGroup group, StepRun run);

    /// <summary>
    /// Each parameter's own step count (PyTorch's state[p]["step"]), in <see cref="Parameters"/> order: the optimizer's
    /// <see cref="StepCount"/> for every one until a step skips some.
    /// </summary>
    public long[] ParameterStepCounts()
    {
        var counts = new long[Parameters.Count];
        foreach (var g in _groups)
        {
            int offset = _groupFirst[g.Index];
            if (g.Runs is null) Array.Fill(counts, StepCount, offset, g.Parameters.Count);
            else
                foreach (var run in g.Runs)
                    for (int i = 0; i < run.Count; i++) counts[offset + run.First + i] = run.Steps;
        }
        return counts;
    }

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

    /// <summary>Counts a step that a replayed capture of <see cref="Step"/> took on the device without this object: the same runs again.</summary>
    internal void CountReplayedStep()
    {
        foreach (var run in _stepped) run.Steps++;
        StepCount++;
    }

    /// <summary>Sets the step count, every parameter's too, on the host and on the device (resuming from a checkpoint).</summary>
    public void RestoreStepCount(long steps) => RestoreStepCounts(steps, Enumerable.Repeat(steps, Parameters.Count).ToArray());

    /// <summary>
    /// Sets the number of steps taken (<see cref="StepCount"/>) and each parameter's own count, in <see cref="Parameters"/>
    /// order (<see cref="ParameterStepCounts"/>), on the host and on the device (resuming from a checkpoint).
    /// </summary>
    public void RestoreStepCounts(long steps, IReadOnlyList<long> parameterSteps)
    {
        ArgumentNullException.ThrowIfNull(parameterSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (parameterSteps.Count != Parameters.Count)
            throw new ArgumentException($"{parameterSteps.Count} step counts for {Parameters.Count} parameters", nameof(parameterSteps));
        foreach (long count in parameterSteps.Append(steps))
            if (count < 0 || count > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(parameterSteps), count, "a step count is 0 to 2^31 - 1, what the device counter holds");
        if (parameterSteps.Any(c => c > steps))
            throw new ArgumentException($"a parameter's step count exceeds the optimizer's {steps} steps", nameof(parameterSteps));
        foreach (var g in _groups)
        {
            foreach (var run in g.Runs ?? [])
                if (!ReferenceEquals(run.Step, g.Step)) run.Step.Dispose();
            // The group's parameters in runs of equal counts, the first on the group's own counter (the others get
            // counters of their own, set by Part).
            int offset = _groupFirst[g.Index];
            g.Runs = [];
            for (int first = 0; first < g.Parameters.Count;)
            {
                long count = parameterSteps[offset + first];
                int end = first;
                while (end < g.Parameters.Count && parameterSteps[offset + end] == count) end++;
                if (first == 0) g.Step.CopyFrom<int>([(int)count]);
                g.Runs.Add(Part(g, count, first, end - first, first == 0 ? g.Step : null));
                first = end;
            }
        }
        if (FlatValues.Device is Backends.Cuda.CudaDevice gpu) gpu.NoteCapturedStateChanged();
        _stepped.Clear();
        StepCount = steps;
    }

    /// <summary>
    /// The flat state buffers by PyTorch's state key ("exp_avg", "exp_avg_sq", "momentum_buffer"), laid out as the
    /// parameters are packed (in parameter order, each starting on 16 bytes, zeros between), so a checkpoint can save
    /// them and copy them back; empty for a stateless optimizer.
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> StateBuffers() => new Dictionary<string, Tensor>();

    /// <summary>A flat buffer of zeros beside the parameters, for optimizer state (moments, momentum).</summary>
    protected Tensor StateBuffer() => Tensor.Zeros(FlatValues.Shape, FlatValues.DType, FlatValues.Device);

    /// <summary>
    /// A flat state buffer's values without the gaps between parameters, in parameter order, as checkpoints hold them
    /// (their layout is the same whatever the alignment).
    /// </summary>
    internal Tensor Unpadded(Tensor flat)
    {
        long total = Parameters.Sum(p => p.Numel);
        var packed = Tensor.Empty([checked((int)total)], flat.DType, flat.Device);
        long at = 0;
        for (int i = 0; i < Parameters.Count; i++)
        {
            int count = checked((int)Parameters[i].Numel);
            using var to = packed.Narrow(checked((int)at), count);
            using var from = flat.Narrow(checked((int)_offsets[i]), count);
            flat.Backend.Copy(from, to);
            at += count;
        }
        return packed;
    }

    /// <summary>Writes values laid out as <see cref="Unpadded"/> gives them into a flat state buffer, each parameter's at its place.</summary>
    internal void CopyUnpadded(Tensor packed, Tensor flat)
    {
        long at = 0;
        for (int i = 0; i < Parameters.Count; i++)
        {
            int count = checked((int)Parameters[i].Numel);
            using var from = packed.Narrow(checked((int)at), count);
            using var to = flat.Narrow(checked((int)_offsets[i]), count);
            flat.Backend.Copy(from, to);
            at += count;
        }
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
