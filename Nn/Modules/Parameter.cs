namespace CudaNn.Nn;

/// <summary>
/// A learnable tensor and its gradient (torch.nn.Parameter with .grad). Backward ADDS into <see cref="Grad"/> until
/// ZeroGrad clears it, exactly as in PyTorch. Clearing costs no device work: the gradient is marked as holding nothing
/// (PyTorch's set_to_none), the next backward that computes the whole gradient writes it instead of adding to it, and
/// reading <see cref="Grad"/> before that finds zeros.
/// </summary>
public sealed class Parameter
{
    private Tensor _grad;

    public Parameter(Tensor value)
    {
        Value = value;
        _grad = Tensor.Zeros(value.Shape, value.DType, value.Device);
    }

    /// <summary>The values. Optimizers may move them into one flat buffer; always read them through here.</summary>
    public Tensor Value { get; private set; }

    /// <summary>
    /// The accumulated gradient, same shape as <see cref="Value"/>. After ZeroGrad it holds zeros by the time it is
    /// read: a cleared gradient is zeroed here first (with every other cleared one of the same optimizer, in one fill
    /// where they are adjacent), so code that adds into it, or reads it, sees what it would in PyTorch.
    /// </summary>
    public Tensor Grad
    {
        get
        {
            if (GradIsCleared)
            {
                if (Packing is { } packing) packing.Read();
                else ZeroClearedGradient();
            }
            return _grad;
        }
    }

    public ReadOnlySpan<int> Shape => Value.Shape;

    /// <summary>The flat gradient buffer an optimizer packed this parameter into, if any (a move would leave it behind).</summary>
    internal PackedGradients? Packing { get; set; }
    public long Numel => Value.Numel;

    /// <summary>True from ZeroGrad until a backward writes the gradient or something reads it.</summary>
    internal bool GradIsCleared { get; private set; }

    /// <summary>The gradient tensor whatever its state, for moving or freeing it.</summary>
    internal Tensor GradStorage => _grad;

    /// <summary>Marks the gradient as holding nothing (zero_grad); no device work.</summary>
    internal void ClearGrad() => GradIsCleared = true;

    /// <summary>
    /// The gradient for a backward that computes all of it: <paramref name="overwrite"/> says whether it was cleared, in
    /// which case the caller must write every element (a GEMM with beta = 0, a bias gradient written, not added) rather
    /// than add. Either way the gradient counts as written from here on.
    /// </summary>
    internal Tensor GradForBackward(out bool overwrite)
    {
        overwrite = GradIsCleared;
        GradIsCleared = false;
        return _grad;
    }

    /// <summary>Fills a cleared gradient with zeros (one launch on a GPU) and marks it as holding them.</summary>
    internal void ZeroClearedGradient()
    {
        if (!GradIsCleared) return;
        _grad.Backend.Fill(_grad, 0.0);
        GradIsCleared = false;
    }

    /// <summary>Marks a cleared gradient as zeroed by its <see cref="Packing"/>, which filled it along with its neighbours.</summary>
    internal void NoteZeroedByOwner() => GradIsCleared = false;

    /// <summary>Re-homes value and gradient (to another device, dtype or a flat buffer); the old tensors are released.</summary>
    internal void Rebind(Tensor value, Tensor grad)
    {
        if (!ReferenceEquals(value, Value)) Value.Dispose();
        if (!ReferenceEquals(grad, _grad)) _grad.Dispose();
        Value = value;
        _grad = grad;
    }

    public override string ToString() => $"Parameter({Tensor.ShapeText(Shape)}, {Value.DType.Name()}, {Value.Device.Name})";
}
