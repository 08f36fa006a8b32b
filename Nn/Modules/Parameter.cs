namespace CudaNn.Nn;

/// <summary>
/// A learnable tensor and its gradient (torch.nn.Parameter with .grad). Backward ADDS into <see cref="Grad"/> until
/// ZeroGrad clears it, exactly as in PyTorch. Clearing costs no device work: the gradient is marked as holding nothing
/// (PyTorch's set_to_none), the next backward that computes the whole gradient writes it instead of adding to it, and
/// reading <see cref="Grad"/> before that finds zeros. A parameter no backward reached since ZeroGrad (and whose
/// <see cref="Grad"/> nobody read) has no gradient, as PyTorch's grad is None: optimizers skip it.
/// </summary>
public sealed class Parameter
{
    /// <summary>Where a gradient stands since the last ZeroGrad.</summary>
    private enum GradState
    {
        /// <summary>No gradient, and the tensor holds zeros (a new parameter, or one zeroed for a read of all gradients).</summary>
        None,

        /// <summary>No gradient, and the tensor still holds the one before ZeroGrad.</summary>
        Stale,

        /// <summary>A gradient: a backward reached the parameter, or <see cref="Grad"/> was read (and may have been written).</summary>
        Given,
    }

    private Tensor _grad;
    private GradState _state = GradState.None;

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
    /// where they are adjacent), so code that adds into it, or reads it, sees what it would in PyTorch. From then on the
    /// parameter has a gradient (zeros until something adds to it), as after PyTorch's <c>p.grad = torch.zeros_like(p)</c>,
    /// so writing a gradient by hand here is stepped on.
    /// </summary>
    public Tensor Grad
    {
        get
        {
            var grad = ZeroedGrad;
            _state = GradState.Given;
            return grad;
        }
    }

    public ReadOnlySpan<int> Shape => Value.Shape;

    /// <summary>The flat gradient buffer an optimizer packed this parameter into, if any (a move would leave it behind).</summary>
    internal PackedGradients? Packing { get; set; }
    public long Numel => Value.Numel;

    /// <summary>
    /// True when there is no gradient to add to (since ZeroGrad, or ever): a backward then writes every element rather
    /// than adds.
    /// </summary>
    internal bool GradIsCleared => _state != GradState.Given;

    /// <summary>True when the tensor still holds the gradient from before ZeroGrad and must be zeroed before it is read.</summary>
    internal bool GradIsStale => _state == GradState.Stale;

    /// <summary>True when a backward reached the parameter (or <see cref="Grad"/> was read) since ZeroGrad: an optimizer steps on it.</summary>
    internal bool HasGrad => _state == GradState.Given;

    /// <summary>The gradient tensor whatever its state, for moving or freeing it.</summary>
    internal Tensor GradStorage => _grad;

    /// <summary>
    /// The gradient as it reads, zeros where there is none, without giving the parameter one: for clipping and
    /// averaging, which must not make an optimizer step on a parameter no backward reached.
    /// </summary>
    internal Tensor ZeroedGrad
    {
        get
        {
            if (_state == GradState.Stale)
            {
                if (Packing is { } packing) packing.Read();
                else ZeroStaleGradient();
            }
            return _grad;
        }
    }

    /// <summary>Marks the gradient as holding nothing (zero_grad); no device work.</summary>
    internal void ClearGrad()
    {
        if (_state == GradState.Given) _state = GradState.Stale;
    }

    /// <summary>
    /// The gradient for a backward that computes all of it: <paramref name="overwrite"/> says whether it was cleared, in
    /// which case the caller must write every element (a GEMM with beta = 0, a bias gradient written, not added) rather
    /// than add. Either way the parameter has a gradient from here on.
    /// </summary>
    internal Tensor GradForBackward(out bool overwrite)
    {
        overwrite = _state != GradState.Given;
        _state = GradState.Given;
        return _grad;
    }

    /// <summary>Gives the parameter a gradient its tensor already holds: zeros where this rank's backward missed it but another's reached it.</summary>
    internal void NoteGradientGiven()
    {
        if (_state == GradState.Stale) throw new InvalidOperationException("a stale gradient must be zeroed before it is given");
        _state = GradState.Given;
    }

    /// <summary>Fills a stale gradient with zeros (one launch on a GPU); it still counts as none.</summary>
    private void ZeroStaleGradient()
    {
        _grad.Backend.Fill(_grad, 0.0);
        _state = GradState.None;
    }

    /// <summary>Marks a stale gradient as zeroed by its <see cref="Packing"/>, which filled it along with its neighbours.</summary>
    internal void NoteZeroedByOwner() => _state = GradState.None;

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
