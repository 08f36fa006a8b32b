using System.Globalization;

namespace CudaNn.Nn;

/// <summary>
/// torch.nn.LayerNorm(normalizedShape) over the last dimension: each row becomes (x - mean) / √(var + eps) * weight + bias,
/// with the biased variance, weight initialised to ones and bias to zeros (PyTorch's names and initial values).
/// <code>new Sequential(new Linear(784, 128), new LayerNorm(128), new GELU(), new Linear(128, 10))</code>
/// Each row's sums are folded in a fixed order on every backend, and the weight and bias gradients are summed over the
/// rows likewise, so the same inputs give the same bits every run.
/// </summary>
public sealed class LayerNorm : Module
{
    private readonly ShapeBuffers _outputs = new();
    private readonly ShapeBuffers _means = new();
    private readonly ShapeBuffers _rstds = new();
    private readonly ShapeBuffers _gradInputs = new();
    private (Tensor Input, Tensor Mean, Tensor Rstd)? _saved;
    private BackwardGuard _backward;

    /// <param name="normalizedShape">The size of the last dimension, which is normalised.</param>
    /// <param name="eps">Added to the variance before its square root.</param>
    /// <param name="elementwiseAffine">Whether the layer has a learnable weight and bias.</param>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, Device? device = null, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(normalizedShape);
        Backends.BackendChecks.Epsilon(nameof(LayerNorm), eps);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"LayerNorm needs a floating-point dtype, not {dtype.Name()}");
        NormalizedShape = normalizedShape;
        Eps = eps;
        if (!elementwiseAffine) return;
        Weight = new Parameter(Filled(normalizedShape, 1.0, dtype, device));
        Bias = new Parameter(Filled(normalizedShape, 0.0, dtype, device));
    }

    public int NormalizedShape { get; }
    public double Eps { get; }
    public Parameter? Weight { get; }
    public Parameter? Bias { get; }

    protected override IEnumerable<(string Name, Parameter Parameter)> OwnParameters()
    {
        if (Weight is not null) yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        if (input.Rank == 0 || input.Shape[^1] != NormalizedShape)
            throw new ArgumentException($"LayerNorm({NormalizedShape}) expects input [..., {NormalizedShape}], got {Tensor.ShapeText(input.Shape)}");
        if (Weight is not null && !MatchesModel(input, Weight.Value)) throw InputMismatch($"LayerNorm({NormalizedShape})", input, Weight.Value);
        int rows = checked((int)(input.Numel / NormalizedShape));
        var y = _outputs.Get(input.Shape, input);
        var mean = _means.Get([rows], input);
        var rstd = _rstds.Get([rows], input);
        input.Backend.LayerNormForward(input, Weight?.Value, Bias?.Value, Eps, y, mean, rstd);
        bool grad = GradMode.IsEnabled;
        y.RequiresGrad = grad;
        _saved = grad ? (input, mean, rstd) : null;
        _backward.Forward(grad);
        return y;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        _backward.ThrowIfUnavailable("LayerNorm");
        var (x, mean, rstd) = _saved!.Value;
        if (!gradOutput.Shape.SequenceEqual(x.Shape))
            throw new ArgumentException($"LayerNorm({NormalizedShape}) backward expects {Tensor.ShapeText(x.Shape)}, got {Tensor.ShapeText(gradOutput.Shape)}");
        _backward.Take();
        var dx = x.RequiresGrad ? _gradInputs.Get(x.Shape, x) : null;
        x.Backend.LayerNormBackward(x, Weight?.Value, mean, rstd, gradOutput, dx, Weight?.Grad, Bias?.Grad);
        return dx;
    }

    protected override void ReleaseBuffers()
    {
        _outputs.Clear();
        _means.Clear();
        _rstds.Clear();
        _gradInputs.Clear();
        _saved = null;
        _backward.Reset();
    }

    /// <summary>As PyTorch prints it: "LayerNorm((128,), eps=1e-05, elementwise_affine=True)" (Python writes 1e-05, 0.001).</summary>
    public override string ToString()
    {
        string eps = Eps != 0 && Eps < 1e-4 ? Eps.ToString("0.################e-00", CultureInfo.InvariantCulture) : Eps.ToString("R", CultureInfo.InvariantCulture);
        return $"LayerNorm(({NormalizedShape},), eps={eps}, elementwise_affine={(Weight is null ? "False" : "True")})";
    }

    private static Tensor Filled(int count, double value, DType dtype, Device? device)
    {
        using var host = Tensor.FromArray(Enumerable.Repeat(value, count).ToArray(), [count]);
        return TensorConversion.To(host, device, dtype);
    }
}
