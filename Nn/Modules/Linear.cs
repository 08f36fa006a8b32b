using CudaNn.Backends;

namespace CudaNn.Nn;

/// <summary>
/// y = x W^T + b (torch.nn.Linear): x [N, in], W [out, in] stored as PyTorch stores it, b [out].
/// Initialised as PyTorch does: W and b ~ U(-1/sqrt(in), 1/sqrt(in)).
/// <code>var fc1 = new Linear(784, 128); var y = fc1.Forward(x);</code>
/// </summary>
public sealed class Linear : Module
{
    private readonly ShapeBuffers _outputs = new();
    private readonly ShapeBuffers _gradInputs = new();
    private Tensor? _input;
    private BackwardGuard _backward;

    public Linear(int inFeatures, int outFeatures, bool bias = true, Device? device = null, DType dtype = DType.Float32,
        Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"Linear needs a floating-point dtype, not {dtype.Name()}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        generator ??= Generator.Default;
        double bound = 1.0 / Math.Sqrt(inFeatures);
        Weight = new Parameter(Uniform(generator, [outFeatures, inFeatures], bound, dtype, device));
        Bias = bias ? new Parameter(Uniform(generator, [outFeatures], bound, dtype, device)) : null;
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Parameter Weight { get; }
    public Parameter? Bias { get; }

    protected override IEnumerable<(string Name, Parameter Parameter)> OwnParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null) yield return ("bias", Bias);
    }

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        if (input.Rank != 2 || input.Shape[1] != InFeatures)
            throw new ArgumentException($"Linear({InFeatures}, {OutFeatures}) expects input [N, {InFeatures}], got {Tensor.ShapeText(input.Shape)}");
        var w = Weight.Value;
        if (!MatchesModel(input, w)) throw InputMismatch($"Linear({InFeatures}, {OutFeatures})", input, w);
        var y = _outputs.Get([input.Shape[0], OutFeatures], w);
        // y[N, out] = x[N, in] * W[out, in]^T, then y += b
        w.Backend.Gemm(false, true, 1.0, input, w, 0.0, y);
        if (Bias is not null) w.Backend.BiasActivationForward(y, Bias.Value, Activation.Identity);
        bool grad = GradMode.IsEnabled;
        y.RequiresGrad = grad;
        _input = grad ? input : null;
        _backward.Forward(grad);
        return y;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        _backward.ThrowIfUnavailable("Linear");
        var x = _input!;
        if (gradOutput.Rank != 2 || gradOutput.Shape[0] != x.Shape[0] || gradOutput.Shape[1] != OutFeatures)
            throw new ArgumentException($"Linear({InFeatures}, {OutFeatures}) backward expects [{x.Shape[0]}, {OutFeatures}], got {Tensor.ShapeText(gradOutput.Shape)}");
        _backward.Take();
        var backend = Weight.Value.Backend;
        // dW[out, in] += dy[N, out]^T * x[N, in];  db[out] += sum_n dy[n, out]; each written instead when zero_grad cleared it
        var weightGrad = Weight.GradForBackward(out bool writeWeightGrad);
        bool writeBiasGrad = false;
        var biasGrad = Bias?.GradForBackward(out writeBiasGrad);
        backend.Gemm(true, false, 1.0, gradOutput, x, writeWeightGrad ? 0.0 : 1.0, weightGrad);
        if (biasGrad is not null) backend.BiasGradient(gradOutput, biasGrad, accumulate: !writeBiasGrad);
        if (!x.RequiresGrad) return null;
        // dx[N, in] = dy[N, out] * W[out, in]
        var dx = _gradInputs.Get(x.Shape, x);
        backend.Gemm(false, false, 1.0, gradOutput, Weight.Value, 0.0, dx);
        return dx;
    }

    protected override void ReleaseBuffers()
    {
        _outputs.Clear();
        _gradInputs.Clear();
        _input = null;
        _backward.Reset();
    }

    public override string ToString() => $"Linear(in_features={InFeatures}, out_features={OutFeatures}, bias={Bias is not null})";

    private static Tensor Uniform(Generator generator, int[] shape, double bound, DType dtype, Device? device)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var values = new double[n];
        for (long i = 0; i < n; i++) values[i] = generator.Uniform(-bound, bound);
        using var host = Tensor.FromArray(values, shape);
        return TensorConversion.To(host, device, dtype);
    }
}
