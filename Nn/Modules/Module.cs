namespace CudaNn.Nn;

/// <summary>
/// A layer or a composition of layers (torch.nn.Module) with explicit Forward and Backward: Backward takes
/// dLoss/dOutput of the latest Forward, ADDS the parameter gradients into each Parameter.Grad, and returns
/// dLoss/dInput, or null when the input does not require a gradient (as data batches do not).
/// Outputs and input gradients are buffers owned by the module and reused by its next call of the same shape
/// (one set per shape, see <see cref="ShapeBuffers"/>). Under <see cref="GradMode.NoGrad"/> a Forward keeps nothing
/// for Backward and writes to buffers of its own.
/// </summary>
public abstract class Module : IDisposable
{
    private bool _disposed;

    /// <summary>True in training mode (module.train()), false in evaluation mode (module.eval()).</summary>
    public bool Training { get; private set; } = true;

    public abstract Tensor Forward(Tensor input);

    public abstract Tensor? Backward(Tensor gradOutput);

    /// <summary>Direct sub-modules with their attribute names ("fc1", "0").</summary>
    public virtual IEnumerable<(string Name, Module Module)> NamedChildren() => [];

    /// <summary>This module (named "") and every module inside it, depth first, with dotted names ("fc1", "block.0") as torch's named_modules().</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        yield return ("", this);
        foreach (var (childName, child) in NamedChildren())
            foreach (var (name, module) in child.NamedModules())
                yield return (name.Length == 0 ? childName : $"{childName}.{name}", module);
    }

    /// <summary>Parameters held by this module itself, not its children ("weight", "bias").</summary>
    protected virtual IEnumerable<(string Name, Parameter Parameter)> OwnParameters() => [];

    /// <summary>All parameters with PyTorch's dotted state-dict names ("fc1.weight").</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        foreach (var own in OwnParameters()) yield return own;
        foreach (var (childName, child) in NamedChildren())
            foreach (var (name, p) in child.NamedParameters())
                yield return ($"{childName}.{name}", p);
    }

    public IReadOnlyList<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    public Module Train(bool on = true)
    {
        Training = on;
        foreach (var (_, child) in NamedChildren()) child.Train(on);
        return this;
    }

    public Module Eval() => Train(false);

    /// <summary>
    /// Clears every parameter's gradient (module.zero_grad()): the next backward writes it instead of adding to it, and
    /// reading it before then gives zeros (see <see cref="Parameter.Grad"/>).
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ClearGrad();
    }

    /// <summary>Moves every parameter (and gradient) to <paramref name="device"/>, in place, as module.to(device) does.</summary>
    public Module To(Device device) => Convert(device, null);

    /// <summary>Converts every parameter (and gradient) to <paramref name="dtype"/>, in place (module.double()).</summary>
    public Module To(DType dtype) => Convert(null, dtype);

    private Module Convert(Device? device, DType? dtype)
    {
        ThrowIfDisposed();
        // The optimizer packed these parameters into its own flat buffers; moving them would leave it updating the
        // old copies while the model trains on new ones, so nothing would learn. PyTorch asks for the move first.
        foreach (var (name, p) in NamedParameters())
            if (p.Packing is { } packing && (device is not null && device != p.Value.Device || dtype is not null && dtype != p.Value.DType))
                throw new InvalidOperationException(
                    $"{GetType().Name}.To({(object?)device?.Name ?? dtype!.Value.Name()}): parameter {name} belongs to the {packing.Owner} " +
                    "created before this move; move the model first, then create the optimizer (as in PyTorch)");
        var moving = Parameters().Where(p => device is not null && device != p.Value.Device || dtype is not null && dtype != p.Value.DType).ToList();
        // Already there: the module is returned as it is (PyTorch's module.to), its optimizer still updating it.
        if (moving.Count == 0) return this;
        foreach (var p in moving)
            p.Rebind(TensorConversion.To(p.Value, device, dtype), TensorConversion.To(p.GradStorage, device, dtype));
        ReleaseBuffersRecursively();
        return this;
    }

    /// <summary>Copies of every parameter on the host, keyed by state-dict name (module.state_dict()).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict() =>
        NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Value.To(Device.Cpu));

    /// <summary>Overwrites parameters from a state dict; names and shapes must match exactly (strict=True).</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var named = NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        var missing = named.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !named.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new ArgumentException(
                $"state dict does not match the model: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]");
        foreach (var (name, p) in named)
        {
            var source = state[name];
            if (!source.Shape.SequenceEqual(p.Shape))
                throw new ArgumentException($"{name}: checkpoint shape {Tensor.ShapeText(source.Shape)} does not match the model's {Tensor.ShapeText(p.Shape)}");
            using var converted = TensorConversion.To(source, p.Value.Device, p.Value.DType);
            p.Value.Backend.Copy(converted, p.Value);
        }
    }

    /// <summary>Drops cached activation buffers (after a move, or to free memory).</summary>
    protected virtual void ReleaseBuffers() { }

    private void ReleaseBuffersRecursively()
    {
        ReleaseBuffers();
        foreach (var (_, child) in NamedChildren()) child.ReleaseBuffersRecursively();
    }

    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>True when <paramref name="input"/> has the dtype and device of the layer's <paramref name="parameter"/>.</summary>
    internal static bool MatchesModel(Tensor input, Tensor parameter) => input.DType == parameter.DType && input.Device == parameter.Device;

    /// <summary>
    /// The error for an input whose dtype or device is not the layer's (its <paramref name="parameter"/>'s), naming the
    /// input rather than the weight the mismatch would otherwise surface on.
    /// </summary>
    internal static ArgumentException InputMismatch(string layer, Tensor input, Tensor parameter) => input.DType != parameter.DType
        ? new ArgumentException($"{layer}: expected {parameter.DType.Name()} (the model's), got {input.DType.Name()} in the input {input}; " +
                                $"convert it with input.To(DType.{parameter.DType})")
        : new ArgumentException($"{layer}: expected an input on {parameter.Device.Name} (the model's), got the input {input} on " +
                                $"{input.Device.Name}; move it with input.To(device)");

    /// <summary>Frees parameters and buffers (device memory on a GPU).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, p) in OwnParameters())
        {
            p.Value.Dispose();
            p.GradStorage.Dispose();
        }
        ReleaseBuffers();
        foreach (var (_, child) in NamedChildren()) child.Dispose();
        GC.SuppressFinalize(this);
    }
}
