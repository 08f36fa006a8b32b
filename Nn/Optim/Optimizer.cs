using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>
/// Base of the optimizers (torch.optim.Optimizer). At construction the parameters are packed into one
/// flat value buffer and one flat gradient buffer, so ZeroGrad is one fill and Step one pass over all of them.
/// </summary>
public abstract class Optimizer : IDisposable
{
    protected Optimizer(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToList();
        (FlatValues, FlatGrads) = ParameterPacking.Pack(Parameters);
    }

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>Number of Step calls so far (PyTorch's state['step']).</summary>
    public long StepCount { get; protected set; }

    /// <summary>All parameter values, one flat view.</summary>
    protected Tensor FlatValues { get; }

    /// <summary>All gradients, one flat view.</summary>
    protected Tensor FlatGrads { get; }

    /// <summary>Sets every gradient to zero (optimizer.zero_grad(set_to_none=False)).</summary>
    public void ZeroGrad() => FlatGrads.Backend.Fill(FlatGrads, 0.0);

    /// <summary>Updates every parameter from its gradient.</summary>
    public abstract void Step();

    /// <summary>
    /// The flat state buffers by PyTorch's state key ("exp_avg", "exp_avg_sq", "momentum_buffer"), in parameter order,
    /// so a checkpoint can save them and copy them back; empty for a stateless optimizer.
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> StateBuffers() => new Dictionary<string, Tensor>();

    /// <summary>Sets the step count a checkpoint recorded, so bias corrections and first-step rules continue where they left off.</summary>
    public void RestoreStepCount(long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        StepCount = stepCount;
    }

    /// <summary>A flat buffer of zeros beside the parameters, for optimizer state (moments, momentum).</summary>
    protected Tensor StateBuffer() => Tensor.Zeros(FlatValues.Shape, FlatValues.DType, FlatValues.Device);

    public virtual void Dispose()
    {
        FlatValues.Dispose();
        FlatGrads.Dispose();
        GC.SuppressFinalize(this);
    }
}
