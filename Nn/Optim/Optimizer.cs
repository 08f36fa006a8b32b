using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>
/// Base of the optimizers (torch.optim.Optimizer). At construction the parameters are packed into one
/// flat value buffer and one flat gradient buffer, so ZeroGrad is one fill and Step one pass over all of them.
/// The step count and the hyperparameters live beside them on the device, where the update reads them when it
/// runs: a training step captured as a CUDA graph replays with the current count and the options last set, so
/// changing the learning rate between steps (by hand or by a schedule) works the same with graphs as without.
/// </summary>
public abstract class Optimizer : IDisposable
{
    protected Optimizer(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToList();
        (FlatValues, FlatGrads) = ParameterPacking.Pack(Parameters);
        foreach (var p in Parameters) p.Optimizer = this;
        StepTensor = Tensor.Zeros([1], DType.Int32, FlatValues.Device);
    }

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Number of steps taken so far (PyTorch's state['step']); the device holds the same count in <see cref="StepTensor"/>.</summary>
    public long StepCount { get; private set; }

    /// <summary>The step count on the parameters' device (int32, one element), which the update kernels increment and read.</summary>
    protected Tensor StepTensor { get; }

    /// <summary>
    /// The hyperparameters on the parameters' device (float64), in the layout the backend's update expects;
    /// written by <see cref="WriteHyperparameters"/> whenever the options change, read at every step.
    /// </summary>
    protected Tensor? Hyperparameters { get; private set; }

    /// <summary>Copies <paramref name="values"/> to <see cref="Hyperparameters"/> (a synchronous copy, so never inside a graph capture).</summary>
    protected void WriteHyperparameters(double[] values)
    {
        Hyperparameters ??= Tensor.Empty([values.Length], DType.Float64, FlatValues.Device);
        Hyperparameters.CopyFrom<double>(values);
    }

    /// <summary>The learning rate (PyTorch's param_groups[0]["lr"]); setting it takes effect from the next step.</summary>
    public abstract double LearningRate { get; set; }

    /// <summary>
    /// The rate a learning-rate schedule started from (PyTorch's param_groups[0]["initial_lr"]): set by the first
    /// <see cref="LRScheduler"/> made for this optimizer, null before; later schedules derive from it too.
    /// </summary>
    public double? InitialLearningRate { get; internal set; }

    /// <summary>All parameter values, one flat view.</summary>
    protected Tensor FlatValues { get; }

    /// <summary>All gradients, one flat view.</summary>
    protected Tensor FlatGrads { get; }

    /// <summary>All gradients, one flat view, for clipping them in one launch.</summary>
    internal Tensor AllGrads => FlatGrads;

    /// <summary>Sets every gradient to zero (optimizer.zero_grad(set_to_none=False)).</summary>
    public void ZeroGrad() => FlatGrads.Backend.Fill(FlatGrads, 0.0);

    /// <summary>Updates every parameter from its gradient.</summary>
    public void Step()
    {
        Update();
        StepCount++;
    }

    /// <summary>One update through the backend, which increments <see cref="StepTensor"/>.</summary>
    protected abstract void Update();

    /// <summary>Counts a step that a replayed capture of <see cref="Step"/> took on the device without this object.</summary>
    internal void CountReplayedStep() => StepCount++;

    /// <summary>Sets the step count, on the host and on the device (resuming from a checkpoint).</summary>
    public void RestoreStepCount(long steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (steps > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(steps), steps, "more steps than the device counter holds");
        StepTensor.CopyFrom<int>([(int)steps]);
        StepCount = steps;
    }

    /// <summary>
    /// The flat state buffers by PyTorch's state key ("exp_avg", "exp_avg_sq", "momentum_buffer"), in parameter order,
    /// so a checkpoint can save them and copy them back; empty for a stateless optimizer.
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> StateBuffers() => new Dictionary<string, Tensor>();

    /// <summary>A flat buffer of zeros beside the parameters, for optimizer state (moments, momentum).</summary>
    protected Tensor StateBuffer() => Tensor.Zeros(FlatValues.Shape, FlatValues.DType, FlatValues.Device);

    public virtual void Dispose()
    {
        foreach (var p in Parameters)
            if (ReferenceEquals(p.Optimizer, this)) p.Optimizer = null;
        FlatValues.Dispose();
        FlatGrads.Dispose();
        StepTensor.Dispose();
        Hyperparameters?.Dispose();
        GC.SuppressFinalize(this);
    }
}
