using CudaNn.Kernels;
namespace CudaNn.Backends;

/// <summary>
/// The backend seam: every number a layer, loss or optimizer computes goes through one of these operations,
/// so the reference, the fast CPU backend and a GPU backend are interchangeable. Tensors are row-major and contiguous; all
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

    /// <summary>
    /// dx = dy * act'(x), written from <paramref name="saved"/>: the forward's output y, or its input x for the
    /// activations whose derivative needs it (<see cref="Nn.ActivationModule"/> keeps the one its activation reads).
    /// </summary>
    public abstract void ActivationBackward(Tensor saved, Tensor dy, Tensor dx, Activation activation);

    /// <summary>
    /// torch.nn.LayerNorm over the last dimension: each row of x (its last dimension, C wide) becomes
    /// y = (x - mean) * rstd * weight + bias, with the biased variance and rstd = 1 / √(var + eps); weight and bias ([C])
    /// may be null. <paramref name="mean"/> and <paramref name="rstd"/> (one element per row) keep what
    /// <see cref="LayerNormBackward"/> needs. y is shaped as x.
    /// </summary>
    public abstract void LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd);

    /// <summary>
    /// LayerNorm's backward from the forward's x, mean and rstd: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with
    /// g = dy * weight and xhat = (x - mean) * rstd; then dweight += Σ over rows of dy * xhat and dbias += Σ dy, summed in an
    /// order the sizes alone fix. dx, dweight and dbias may each be null.
    /// </summary>
    public abstract void LayerNormBackward(Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias);

    /// <summary>dbias[C] += sum over n of dy[N,C]; with <paramref name="accumulate"/> false, dbias = that sum (a gradient cleared by zero_grad).</summary>
    public abstract void BiasGradient(Tensor dy, Tensor dbias, bool accumulate = true);

    /// <summary>
    /// An activation's backward, in place, then the bias gradient of the Linear whose output it activated:
    /// dz[N,C] = dz · act'(saved) (<see cref="ActivationBackward"/> with dy = dx = dz), then dbias[C] += the column sums
    /// of dz when dbias is given (dbias = those sums when <paramref name="accumulate"/> is false). Here as those two
    /// operations; the CUDA backend does both in one pass where the slope comes from the output (identity, ReLU, sigmoid, tanh).
    /// </summary>
    internal virtual void ActivationBiasBackward(Tensor saved, Tensor dz, Tensor? dbias, Activation activation, bool accumulate = true)
    {
        if (activation != Activation.Identity) ActivationBackward(saved, dz, dz, activation);
        if (dbias is not null) BiasGradient(dz, dbias, accumulate);
    }

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
    /// <paramref name="hyperparameters"/> (float64, <see cref="AdamHyperparameters.Count"/> elements laid out as
    /// <see cref="AdamHyperparameters.DeviceValues"/>, on the device) is read when the step runs, not when it is enqueued.
    /// </summary>
    /// <remarks>With <paramref name="maxV"/> (amsgrad), maxV = max(maxV, v) after v's update stands for v in the denominator.</remarks>
    public abstract void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor step, Tensor hyperparameters, bool decoupled, Tensor? maxV = null);

    /// <summary>
    /// One SGD step over flat buffers; momentumBuffer is null when momentum is 0. <paramref name="step"/>
    /// (int32, one element) is incremented first; the momentum buffer starts from d when it becomes 1.
    /// <paramref name="hyperparameters"/> as for <see cref="AdamStep"/>, laid out as <see cref="SgdHyperparameters.DeviceValues"/>.
    /// </summary>
    public abstract void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, Tensor step, Tensor hyperparameters);

    /// <summary>
    /// torch.nn.utils.clip_grad_norm_ with the 2-norm: totalNorm[0] = √(Σ g²) over every element of every tensor in
    /// <paramref name="grads"/>, then each scaled in place by min(maxNorm / (totalNorm + 1e-6), 1), NaN when the norm is
    /// NaN, as in PyTorch. The squares are summed in float64 in an order the sizes alone fix, and nothing travels to the
    /// host, so a captured graph can hold it. totalNorm is one element of this dtype.
    /// </summary>
    public abstract void ClipGradNorm(IReadOnlyList<Tensor> grads, double maxNorm, Tensor totalNorm);

    /// <summary>x = min(max(x, min), max) in place, a NaN staying NaN (torch.clamp_, as clip_grad_value_ uses it).</summary>
    public abstract void Clamp(Tensor x, double min, double max);

    /// <summary>
    /// torch.nn.Dropout in training: noise = 1 / (1 - p) (rounded to this dtype) where an element is kept and 0 where it
    /// is dropped, then y = x * noise. Which elements keep is <see cref="Philox.DropoutKeeps"/> of the seed and call in
    /// <paramref name="rngState"/> (int32 [4] on this device: seed lo, seed hi, call lo, call hi), the same bits on every
    /// backend; the call then advances by one there, on the device, so a replayed graph draws a fresh mask each time.
    /// x, y and noise hold as many elements and must not overlap; with none, nothing is drawn and the call stays.
    /// </summary>
    public abstract void DropoutForward(Tensor x, Tensor y, Tensor noise, Tensor rngState, double p);

    /// <summary>z = x * y elementwise; z may be x or y (dropout's backward: dx = dy * noise).</summary>
    public abstract void Multiply(Tensor x, Tensor y, Tensor z);

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
    internal abstract void GatherNormalize(Tensor images, Tensor labels, Tensor indices, Tensor x, Tensor y, double mean, double std);

    /// <summary>
    /// destination[b] = source[indices[b]], whole rows (dimension 0) of any dtype the backend stores (float32 and int32 on
    /// a GPU); source [M, ...], indices int32 [B] on this device, destination [B, ...] of source's dtype and row shape.
    /// An index outside [0, M) fills its row with NaN (floats) or -1 (int32).
    /// </summary>
    public abstract void GatherRows(Tensor source, Tensor indices, Tensor destination);
}
