using CudaNn.Backends;

namespace CudaNn.Nn;

/// <summary>
/// Modules applied one after another (torch.nn.Sequential). Children are named "0", "1", ... unless
/// names are given, e.g. to match a PyTorch class's attributes:
/// <code>new Sequential(("fc1", new Linear(784, 128)), ("relu1", new ReLU()), ("fc2", new Linear(128, 10)))</code>
/// A stack made only of Linear layers, each followed by at most one ReLU, sigmoid or tanh (an MLP), runs as one forward
/// and one backward operation of the backend (<see cref="MlpChain"/>): on a GPU a small one is three fused launches. In
/// any other Sequential a Linear followed by one of those runs as one GEMM plus one bias-and-activation pass (GELU and
/// SiLU keep their input for backward, so they run as passes of their own). Either
/// way the results are those of running the modules one after the other, up to the rounding of the sums.
/// </summary>
public sealed class Sequential : Module
{
    private readonly (string Name, Module Module)[] _children;
    private readonly MlpChain? _chain;

    public Sequential(params Module[] modules)
        : this(modules.Select((m, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), m)).ToArray())
    {
    }

    public Sequential(params (string Name, Module Module)[] modules)
    {
        if (modules.Length == 0) throw new ArgumentException("Sequential needs at least one module");
        var duplicate = modules.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Sequential: the name '{duplicate.Key}' is used twice");
        foreach (var (name, module) in modules)
        {
            ArgumentNullException.ThrowIfNull(module, name);
            if (string.IsNullOrEmpty(name) || name.Contains('.'))
                throw new ArgumentException($"Sequential: '{name}' is not a valid module name");
        }
        _children = modules;
        _chain = MlpChain.TryCreate(modules.Select(m => m.Module).ToList());
    }

    public int Count => _children.Length;
    public Module this[int index] => _children[index].Module;

    public override IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        if (_chain is not null) return _chain.Forward(input);
        var x = input;
        for (int i = 0; i < _children.Length; i++)
        {
            if (_children[i].Module is Linear linear && i + 1 < _children.Length && _children[i + 1].Module is ActivationModule activation &&
                !activation.Activation.BackwardReadsInput())
            {
                x = activation.ForwardAfter(linear, x);
                i++;
            }
            else
            {
                x = _children[i].Module.Forward(x);
            }
        }
        return x;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        if (_chain is not null) return _chain.Backward(gradOutput);
        Tensor? grad = gradOutput;
        for (int i = _children.Length - 1; i >= 0 && grad is not null; i--)
            grad = _children[i].Module.Backward(grad);
        return grad;
    }

    protected override void ReleaseBuffers() => _chain?.ReleaseBuffers();

    public override string ToString() =>
        "Sequential(\n" + string.Concat(_children.Select(c => $"  ({c.Name}): {c.Module}\n")) + ")";
}
