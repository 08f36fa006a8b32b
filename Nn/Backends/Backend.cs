namespace CudaNn.Backends;

/// <summary>
/// The backend seam: every number a layer, loss or optimizer computes goes through one of these operations,
/// so the CPU reference and a GPU backend are interchangeable. Tensors are row-major and contiguous; all
/// tensors of one call live on this backend's device and (but for labels and indices) have its dtype.
/// Gradient outputs named "accumulate" add into their destination, as PyTorch's .grad does.
/// </summary>
public abstract class Backend
{
    public abstract Device Device { get; }
    public abstract DType DType { get; }

    /// <summary>c[M,N] = alpha * op(a) * op(b) + beta * c, op(x) = x or x^T; beta = 0 ignores c's old contents.</summary>
    public abstract void Gemm(bool transA, bool transB, double alpha, Tensor a, Tensor b, double beta, Tensor c);

    /// <summary>y[N,C] = act(y + bias[C]) in place; bias may be null.</summary>
    public abstract void BiasActivationForward(Tensor y, Tensor? bias, Activation activation);

    /// <summary>y = act(x) elementwise.</summary>
    public abstract void ActivationForward(Tensor x, Tensor y, Activation activation);

    /// <summary>dx = dy * act'(x), written from the forward's output y.</summary>
    public abstract void ActivationBackward(Tensor y, Tensor dy, Tensor dx, Activation activation);

    /// <summary>dbias[C] += sum over n of dy[N,C].</summary>
    public abstract void BiasGradient(Tensor dy, Tensor dbias);

    /// <summary>
    /// Softmax cross-entropy over logits[N,C] with int32 labels[N]:
    /// loss[0] = mean_n (logsumexp(logits[n]) - logits[n, labels[n]]);
    /// dlogits = (softmax(logits) - onehot(labels)) / N when given;
    /// correct[0] (int32) += count of rows whose first maximum is at the label, when given;
    /// total[0] += N * loss[0], when given (an epoch's running sum of per-sample losses, as y += alpha x).
    /// </summary>
    public abstract void SoftmaxCrossEntropy(Tensor logits, Tensor labels, Tensor? dlogits, Tensor loss, Tensor? correct, Tensor? total = null);

    /// <summary>loss[0] = mean((pred - target)^2); dpred = 2 * (pred - target) / numel when given.</summary>
    public abstract void MseLoss(Tensor pred, Tensor target, Tensor? dpred, Tensor loss);

    /// <summary>
    /// One Adam/AdamW step over flat param, grad and moment buffers of equal length. <paramref name="step"/>
    /// (int32, one element, on the device) is incremented first and the update uses the new count t.
    /// <paramref name="hyperparameters"/> (float64, <see cref="AdamStepArgs.Count"/> elements laid out as
    /// <see cref="AdamStepArgs.ToArray"/>, on the device) is read when the step runs, not when it is enqueued.
    /// </summary>
    public abstract void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor step, Tensor hyperparameters, bool decoupled);

    /// <summary>
    /// One SGD step over flat buffers; momentumBuffer is null when momentum is 0. <paramref name="step"/>
    /// (int32, one element) is incremented first; the momentum buffer starts from d when it becomes 1.
    /// <paramref name="hyperparameters"/> as for <see cref="AdamStep"/>, laid out as <see cref="SgdStepArgs.ToArray"/>.
    /// </summary>
    public abstract void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, Tensor step, Tensor hyperparameters);

    /// <summary>Every element of t = value.</summary>
    public abstract void Fill(Tensor t, double value);

    /// <summary>y += alpha * x elementwise.</summary>
    public abstract void Axpy(double alpha, Tensor x, Tensor y);

    /// <summary>dst = src elementwise (same dtype and element count).</summary>
    public abstract void Copy(Tensor src, Tensor dst);

    /// <summary>
    /// Batch gather from a uint8 data set: x[b,d] = (images[indices[b], d] / 255 - mean) / std, y[b] = labels[indices[b]].
    /// images is uint8 [M,D], labels uint8 [M], indices int32 [B], x [B,D] of this dtype, y int32 [B].
    /// </summary>
    public abstract void GatherNormalize(Tensor images, Tensor labels, Tensor indices, Tensor x, Tensor y, double mean, double std);
}
