using CudaNn.Backends;

namespace CudaNn.Nn;

/// <summary>
/// Modules applied one after another (torch.nn.Sequential). Children are named "0", "1", ... unless
/// names are given, e.g. to match a PyTorch class's attributes:
/// <code>new Sequential(("fc1", new Linear(784, 128)), ("relu1", new ReLU()), ("fc2", new Linear(128, 10)))</code>
/// Each run of Linear layers, each followed by at most one ReLU, sigmoid or tanh (an MLP), runs by its device's plan
/// (<see cref="MlpChain"/>, <see cref="StepPlan"/>): a GEMM and one bias-and-activation pass per layer, cuBLASLt
/// epilogues, or three fused launches. Every other module runs on its own (GELU and SiLU keep their input for the
/// backward, so they end a run). The results are those of running the modules one after the other, up to the
/// rounding of the sums.
/// </summary>
public sealed class Sequential : Module
{
    private readonly List<(string Name, Module Module)> _children;
    private List<(MlpChain? Chain, Module? Module)> _segments;

    public Sequential(params Module[] modules)
        : this(modules.Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m)).ToArray())
    {
    }

    public Sequential(params (string Name, Module Module)[] modules)
    {
        if (modules.Length == 0) throw new ArgumentException("Sequential needs at least one module");
        _children = new List<(string, Module)>(modules.Length);
        foreach (var (name, module) in modules) AddChild(name, module);
        _segments = MlpChain.Segments(_children.Select(m => m.Module).ToList());
    }

    public int Count => _children.Count;

    /// <summary>The module at <paramref name="index"/> (model[0]); negative counts from the end (model[-1]).</summary>
    public Module this[int index]
    {
        get
        {
            int at = index < 0 ? index + _children.Count : index;
            if ((uint)at >= (uint)_children.Count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Sequential has {_children.Count} modules");
            return _children[at].Module;
        }
    }

    /// <summary>The module named <paramref name="name"/> ("fc1", or "0" when none was given), as getattr(model, "fc1").</summary>
    public Module this[string name] => _children.FirstOrDefault(c => c.Name == name).Module
        ?? throw new KeyNotFoundException($"Sequential has no module named '{name}'; it has {string.Join(", ", _children.Select(c => c.Name))}");

    /// <summary>Appends <paramref name="module"/> named by its position, as Sequential.append does.</summary>
    public Sequential Add(Module module) => Add(_children.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);

    /// <summary>
    /// Appends <paramref name="module"/> as <paramref name="name"/> (add_module). Its parameters are not in an optimizer
    /// made before, as in PyTorch: make the optimizer after the model is complete.
    /// </summary>
    public Sequential Add(string name, Module module)
    {
        ThrowIfDisposed();
        AddChild(name, module);
        ReleaseBuffers();
        _segments = MlpChain.Segments(_children.Select(m => m.Module).ToList());
        return this;
    }

    private void AddChild(string name, Module module)
    {
        ArgumentNullException.ThrowIfNull(module, name);
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Sequential: '{name}' is not a valid module name");
        if (_children.Any(c => c.Name == name)) throw new ArgumentException($"Sequential: the name '{name}' is used twice");
        if (_children.Any(c => ReferenceEquals(c.Module, module)))
            throw new ArgumentException($"Sequential: module '{name}' is already in this Sequential; a layer keeps one input for its Backward, so it cannot appear twice");
        _children.Add((name, module));
    }

    public override IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        var x = input;
        foreach (var (chain, module) in _segments)
            x = chain is not null ? chain.Forward(x) : module!.Forward(x);
        return x;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        Tensor? grad = gradOutput;
        for (int i = _segments.Count - 1; i >= 0 && grad is not null; i--)
            grad = _segments[i].Chain is { } chain ? chain.Backward(grad) : _segments[i].Module!.Backward(grad);
        return grad;
    }

    protected override void ReleaseBuffers()
    {
        foreach (var (chain, _) in _segments) chain?.ReleaseBuffers();
    }

    /// <summary>
    /// The plan every run of Linear layers took in the latest forward (<see cref="StepPlan.Layers"/> when they differ,
    /// as one that did not apply ran layer by layer); null when this Sequential has no Linear layer.
    /// </summary>
    internal StepPlan? Plan
    {
        get
        {
            StepPlan? plan = null;
            foreach (var (chain, _) in _segments)
                if (chain is not null) plan = plan is null || plan == chain.Plan ? chain.Plan : StepPlan.Layers;
            return plan;
        }
    }

    /// <summary>
    /// Why <paramref name="plan"/> cannot run this model's Linear layers on <paramref name="device"/> as it is set now
    /// (the first run of them it does not apply to, by that plan's own rule), or null when it runs all of them.
    /// </summary>
    internal string? WhyNot(StepPlan plan, Device device)
    {
        var chains = _segments.Where(s => s.Chain is not null).Select(s => s.Chain!).ToList();
        if (chains.Count == 0) return "the model has no Linear layer";
        return chains.Select(c => c.WhyNot(plan, device)).FirstOrDefault(why => why is not null);
    }

    public override string ToString() =>
        "Sequential(\n" + string.Concat(_children.Select(c => $"  ({c.Name}): {c.Module}\n")) + ")";

    /// <summary>
    /// A table of every module with its type, output shape for an input of <paramref name="inputShape"/> and parameter
    /// count, then the totals (as torchinfo's summary). The shapes come from one forward of zeros on the model's device,
    /// in evaluation mode and without gradients; the model's mode is restored after.
    /// <code>Console.WriteLine(model.Summary(64, 784));</code>
    /// </summary>
    public string Summary(params int[] inputShape)
    {
        ThrowIfDisposed();
        var first = Parameters().FirstOrDefault()?.Value;
        using var input = Tensor.Zeros(inputShape, first?.DType ?? DType.Float32, first?.Device);
        var rows = new List<(string Layer, string Shape, long Parameters)>();
        bool wasTraining = Training;
        Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            var x = input;
            foreach (var (name, module) in _children)
            {
                x = module.Forward(x);
                rows.Add(($"{name} ({module.GetType().Name})", Tensor.ShapeText(x.Shape), module.Parameters().Sum(p => p.Numel)));
            }
        }
        finally
        {
            Train(wasTraining);
        }
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        int layerWidth = Math.Max("Layer (type)".Length, rows.Max(r => r.Layer.Length));
        int shapeWidth = Math.Max("Output shape".Length, rows.Max(r => r.Shape.Length));
        var text = new System.Text.StringBuilder();
        string rule = new('-', layerWidth + shapeWidth + 16);
        text.AppendLine($"{"Layer (type)".PadRight(layerWidth)}  {"Output shape".PadRight(shapeWidth)}  {"Param #",12}").AppendLine(rule);
        foreach (var (layer, shape, count) in rows)
            text.AppendLine($"{layer.PadRight(layerWidth)}  {shape.PadRight(shapeWidth)}  {count.ToString("N0", culture),12}");
        long total = rows.Sum(r => r.Parameters);
        text.AppendLine(rule).AppendLine($"Input: {Tensor.ShapeText(inputShape)}").Append("Total params: ").AppendLine(total.ToString("N0", culture));
        return text.ToString();
    }
}
