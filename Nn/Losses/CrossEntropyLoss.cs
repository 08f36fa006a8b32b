namespace CudaNn.Nn;

/// <summary>
/// Mean cross-entropy of logits [N, C] against int32 class labels [N] (torch.nn.CrossEntropyLoss with
/// reduction='mean'): loss = mean_n (logsumexp(z_n) - z_n[y_n]), computed max-subtracted so large
/// logits do not overflow. Forward also computes dLoss/dLogits = (softmax(z) - onehot(y)) / N, which
/// Backward returns, unless the logits need no gradient (under <see cref="GradMode.NoGrad"/>, say). Its buffers are
/// kept per shape and grad mode, as a layer's are.
/// A label outside [0, C) throws on the CPU, naming the row. A GPU kernel cannot throw: there the loss becomes NaN,
/// and `train` (the <see cref="Training.Trainer"/>) reports the first step whose loss was not finite.
/// </summary>
public sealed class CrossEntropyLoss : IDisposable
{
    private readonly ShapeBuffers _losses = new();
    private readonly ShapeBuffers _gradLogits = new();
    private Tensor? _latestGrad;

    /// <summary>
    /// The mean loss as a one-element tensor on the logits' device. When <paramref name="correct"/>
    /// (int32, one element) is given, the number of rows whose argmax equals the label is added to it; when
    /// <paramref name="total"/> (one element of the logits' dtype) is given, N times the loss is, in the same pass.
    /// </summary>
    public Tensor Forward(Tensor logits, Tensor target, Tensor? correct = null, Tensor? total = null)
    {
        var loss = _losses.Get([], logits);
        var dlogits = logits.RequiresGrad && GradMode.IsEnabled ? _gradLogits.Get(logits.Shape, logits) : null;
        logits.Backend.SoftmaxCrossEntropy(logits, target, dlogits, loss, correct, total);
        _latestGrad = dlogits;
        return loss;
    }

    /// <summary>dLoss/dLogits of the latest Forward.</summary>
    public Tensor Backward() =>
        _latestGrad ?? throw new InvalidOperationException(
            "CrossEntropyLoss.Backward needs a Forward on logits that require a gradient, outside GradMode.NoGrad()");

    public void Dispose()
    {
        _losses.Dispose();
        _gradLogits.Dispose();
        _latestGrad = null;
    }
}
