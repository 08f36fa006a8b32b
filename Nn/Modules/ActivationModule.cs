using CudaNn.Backends;

namespace CudaNn.Nn;

/// <summary>
/// An elementwise activation layer (what it applies is its <see cref="Activation"/>). Its backward reads the forward's
/// output, so it keeps only y, except where the activation's derivative needs the input (GELU, for one): then it keeps x.
/// </summary>
public abstract class ActivationModule : Module
{
    private readonly ShapeBuffers _outputs = new();
    private readonly ShapeBuffers _gradInputs = new();
    private Tensor? _saved; // y, or x when the activation's backward reads its input
    private bool _inputRequiresGrad;
    private BackwardGuard _backward;

    private protected ActivationModule(Activation activation) => Activation = activation;

    /// <summary>The function applied, with its parameter.</summary>
    public Activation Activation { get; }

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        var y = _outputs.Get(input.Shape, input);
        input.Backend.ActivationForward(input, y, Activation);
        return Remember(y, input.RequiresGrad, Activation.BackwardReadsInput ? input : y);
    }

    private Tensor Remember(Tensor y, bool inputRequiresGrad, Tensor saved)
    {
        bool grad = GradMode.IsEnabled;
        _inputRequiresGrad = inputRequiresGrad && grad;
        y.RequiresGrad = _inputRequiresGrad;
        _saved = grad ? saved : null;
        _backward.Forward(grad);
        return y;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        _backward.ThrowIfUnavailable(GetType().Name);
        var saved = _saved!;
        if (!gradOutput.Shape.SequenceEqual(saved.Shape))
            throw new ArgumentException($"{GetType().Name} backward expects {Tensor.ShapeText(saved.Shape)}, got {Tensor.ShapeText(gradOutput.Shape)}");
        _backward.Take();
        if (!_inputRequiresGrad) return null;
        var dx = _gradInputs.Get(saved.Shape, saved);
        saved.Backend.ActivationBackward(saved, gradOutput, dx, Activation);
        return dx;
    }

    protected override void ReleaseBuffers()
    {
        _outputs.Clear();
        _gradInputs.Clear();
        _saved = null;
        _backward.Reset();
    }

    public override string ToString() => GetType().Name + "()";
}

/// <summary>y = max(x, 0) (torch.nn.ReLU).</summary>
public sealed class ReLU() : ActivationModule(Activation.ReLU);

/// <summary>y = 1 / (1 + exp(-x)) (torch.nn.Sigmoid).</summary>
public sealed class Sigmoid() : ActivationModule(Activation.Sigmoid);

/// <summary>y = tanh(x) (torch.nn.Tanh).</summary>
public sealed class Tanh() : ActivationModule(Activation.Tanh);

/// <summary>y = x Φ(x), Φ the standard normal CDF (torch.nn.GELU with approximate='none').</summary>
public sealed class GELU() : ActivationModule(Activation.GELU)
{
    public override string ToString() => "GELU(approximate='none')";
}

/// <summary>y = x sigmoid(x) (torch.nn.SiLU, the swish).</summary>
public sealed class SiLU() : ActivationModule(Activation.SiLU);

/// <summary>y = x for x &gt; 0, else negative_slope x (torch.nn.LeakyReLU).</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : ActivationModule(Activation.LeakyReLU(negativeSlope))
{
    /// <summary>The slope for x ≤ 0.</summary>
    public double NegativeSlope => Activation.Parameter!.Value;

    public override string ToString() => $"LeakyReLU(negative_slope={NegativeSlope.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})";
}
