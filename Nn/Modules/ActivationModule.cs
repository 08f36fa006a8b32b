using CudaNn.Backends;

namespace CudaNn.Nn;

/// <summary>An elementwise activation layer; its backward reads the forward's output, so it keeps only y.</summary>
public abstract class ActivationModule : Module
{
    private readonly ShapeBuffers _outputs = new();
    private readonly ShapeBuffers _gradInputs = new();
    private Tensor? _y;
    private bool _inputRequiresGrad;
    private bool _forwardWithoutGrad;

    protected ActivationModule(Activation activation) => Activation = activation;

    public Activation Activation { get; }

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        var y = _outputs.Get(input.Shape, input);
        input.Backend.ActivationForward(input, y, Activation);
        return Remember(y, input.RequiresGrad);
    }

    /// <summary>
    /// act(linear(input)) with the activation fused into the linear layer's bias pass; this module then only
    /// remembers the output for its Backward, which is unchanged.
    /// </summary>
    internal Tensor ForwardAfter(Linear linear, Tensor input)
    {
        ThrowIfDisposed();
        return Remember(linear.Forward(input, Activation), inputRequiresGrad: true);
    }

    private Tensor Remember(Tensor y, bool inputRequiresGrad)
    {
        bool grad = GradMode.IsEnabled;
        _inputRequiresGrad = inputRequiresGrad && grad;
        y.RequiresGrad = _inputRequiresGrad;
        _y = grad ? y : null;
        _forwardWithoutGrad = !grad;
        return y;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        var y = _y ?? throw new InvalidOperationException(_forwardWithoutGrad
            ? $"{GetType().Name}.Backward: the latest Forward ran under GradMode.NoGrad(), which keeps nothing for Backward"
            : $"{GetType().Name}.Backward called before Forward");
        if (!gradOutput.Shape.SequenceEqual(y.Shape))
            throw new ArgumentException($"{GetType().Name} backward expects {Tensor.ShapeText(y.Shape)}, got {Tensor.ShapeText(gradOutput.Shape)}");
        if (!_inputRequiresGrad) return null;
        var dx = _gradInputs.Get(y.Shape, y);
        y.Backend.ActivationBackward(y, gradOutput, dx, Activation);
        return dx;
    }

    protected override void ReleaseBuffers()
    {
        _outputs.Clear();
        _gradInputs.Clear();
        _y = null;
    }

    public override string ToString() => GetType().Name + "()";
}

/// <summary>y = max(x, 0) (torch.nn.ReLU).</summary>
public sealed class ReLU() : ActivationModule(Activation.ReLU);

/// <summary>y = 1 / (1 + exp(-x)) (torch.nn.Sigmoid).</summary>
public sealed class Sigmoid() : ActivationModule(Activation.Sigmoid);

/// <summary>y = tanh(x) (torch.nn.Tanh).</summary>
public sealed class Tanh() : ActivationModule(Activation.Tanh);
