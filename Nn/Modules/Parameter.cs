namespace CudaNn.Nn;

/// <summary>
/// A learnable tensor and its gradient (torch.nn.Parameter with .grad). Backward ADDS into
/// <see cref="Grad"/>; it is cleared only by ZeroGrad, exactly as in PyTorch.
/// </summary>
public sealed class Parameter
{
    public Parameter(Tensor value)
    {
        Value = value;
        Grad = Tensor.Zeros(value.Shape, value.DType, value.Device);
    }

    /// <summary>The values. Optimizers may move them into one flat buffer; always read them through here.</summary>
    public Tensor Value { get; private set; }

    /// <summary>The accumulated gradient, same shape as <see cref="Value"/>.</summary>
    public Tensor Grad { get; private set; }

    public ReadOnlySpan<int> Shape => Value.Shape;

    /// <summary>The optimizer whose flat buffers hold this parameter now, if any (a move would leave it behind).</summary>
    internal Optim.Optimizer? Optimizer { get; set; }
    public long Numel => Value.Numel;

    /// <summary>Re-homes value and gradient (to another device, dtype or a flat buffer); the old tensors are released.</summary>
    internal void Rebind(Tensor value, Tensor grad)
    {
        if (!ReferenceEquals(value, Value)) Value.Dispose();
        if (!ReferenceEquals(grad, Grad)) Grad.Dispose();
        Value = value;
        Grad = grad;
    }

    public override string ToString() => $"Parameter({Tensor.ShapeText(Shape)}, {Value.DType.Name()}, {Value.Device.Name})";
}
