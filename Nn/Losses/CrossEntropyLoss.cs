namespace CudaNn.Nn;

/// <summary>
/// Mean cross-entropy of logits [N, C] against int32 class labels [N] (torch.nn.CrossEntropyLoss with
/// reduction='mean'): loss = mean_n (logsumexp(z_n) - z_n[y_n]), computed max-subtracted so large
/// logits do not overflow. Forward also computes dLoss/dLogits = (softmax(z) - onehot(y)) / N, which
/// Backward returns.
/// </summary>
public sealed class CrossEntropyLoss : IDisposable
{
    private Tensor? _loss;
    private Tensor? _gradLogits;
    private bool _hasGrad;

    /// <summary>
    /// The mean loss as a one-element tensor on the logits' device. When <paramref name="correct"/>
    /// (int32, one element) is given, the number of rows whose argmax equals the label is added to it.
    /// </summary>
    public Tensor Forward(Tensor logits, Tensor target, Tensor? correct = null)
    {
        var loss = _loss is not null && _loss.Device == logits.Device && _loss.DType == logits.DType
            ? _loss
            : ReplaceLoss(logits);
        _hasGrad = logits.RequiresGrad;
        Tensor? dlogits = null;
        if (_hasGrad)
        {
            if (_gradLogits is null || !_gradLogits.Shape.SequenceEqual(logits.Shape) || _gradLogits.Device != logits.Device || _gradLogits.DType != logits.DType)
            {
                _gradLogits?.Dispose();
                _gradLogits = Tensor.Empty(logits.Shape, logits.DType, logits.Device);
            }
            dlogits = _gradLogits;
        }
        logits.Backend.SoftmaxCrossEntropy(logits, target, dlogits, loss, correct);
        return loss;
    }

    /// <summary>dLoss/dLogits of the latest Forward.</summary>
    public Tensor Backward() =>
        _hasGrad && _gradLogits is not null
            ? _gradLogits
            : throw new InvalidOperationException("CrossEntropyLoss.Backward needs a Forward on logits that require a gradient");

    public void Dispose()
    {
        _loss?.Dispose();
        _gradLogits?.Dispose();
        _loss = _gradLogits = null;
    }

    private Tensor ReplaceLoss(Tensor logits)
    {
        _loss?.Dispose();
        _loss = Tensor.Empty([], logits.DType, logits.Device);
        return _loss;
    }
}
