namespace CudaNn.Backends.Reference;

internal partial class ReferenceBackend<T>
{
    public override void SoftmaxCrossEntropy(Tensor logits, Tensor labels, Tensor? dlogits, Tensor loss, Tensor? correct, Tensor? total = null)
    {
        var (n, c) = BackendChecks.SoftmaxCrossEntropy(this, logits, labels, dlogits, loss, correct, total);
        var z = logits.Span<T>();
        var y = labels.Span<int>();
        var dz = dlogits is null ? default : dlogits.Span<T>();
        double lossSum = 0;
        int hits = 0;
        T invN = Of(1.0 / n);
        for (int row = 0; row < n; row++)
        {
            int label = y[row];
            if ((uint)label >= (uint)c)
                throw new ArgumentOutOfRangeException(nameof(labels), $"label {label} in row {row} is outside [0, {c})");
            var zr = z.Slice(row * c, c);
            // Max-subtracted log-sum-exp: loss_row = log(sum_j exp(z_j - max)) + max - z_label.
            int argmax = 0;
            for (int j = 1; j < c; j++) if (zr[j] > zr[argmax]) argmax = j;
            T max = zr[argmax];
            T sum = T.Zero;
            for (int j = 0; j < c; j++) sum += T.Exp(zr[j] - max);
            lossSum += double.CreateTruncating(T.Log(sum) + max - zr[label]);
            if (argmax == label) hits++;
            if (dlogits is null) continue;
            var dr = dz.Slice(row * c, c);
            for (int j = 0; j < c; j++)
                dr[j] = (T.Exp(zr[j] - max) / sum - (j == label ? T.One : T.Zero)) * invN;
        }
        T mean = Of(lossSum / n);
        loss.Span<T>()[0] = mean;
        if (correct is not null) correct.Span<int>()[0] += hits;
        if (total is not null) total.Span<T>()[0] += Of(n) * mean;
    }

    public override void MseLoss(Tensor pred, Tensor target, Tensor? dpred, Tensor loss)
    {
        BackendChecks.Elementwise(this, nameof(MseLoss), pred, target, dpred);
        BackendChecks.Same(this, nameof(MseLoss), loss);
        var p = pred.Span<T>();
        var t = target.Span<T>();
        var dp = dpred is null ? default : dpred.Span<T>();
        // loss = mean((p - t)^2), dp = 2 (p - t) / numel
        double sum = 0;
        T scale = Of(2.0 / p.Length);
        for (int i = 0; i < p.Length; i++)
        {
            T diff = p[i] - t[i];
            sum += double.CreateTruncating(diff * diff);
            if (dpred is not null) dp[i] = scale * diff;
        }
        loss.Span<T>()[0] = Of(sum / p.Length);
    }
}
