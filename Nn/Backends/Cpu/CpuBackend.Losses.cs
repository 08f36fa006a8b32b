using System.Numerics;
using System.Runtime.CompilerServices;

namespace CudaNn.Backends.Cpu;

internal sealed partial class CpuBackend<T>
{
    /// <summary>
    /// The reference's softmax cross-entropy with each exponential taken once (kept in dlogits until the sum is known)
    /// and the rows split across the cores. Each row's loss is computed as the reference computes it and the losses are
    /// summed afterwards in row order, so the mean is the reference's to the bit on any number of cores. Every label is
    /// checked before anything is written.
    /// </summary>
    public override void SoftmaxCrossEntropy(Tensor logits, Tensor labels, Tensor? dlogits, Tensor loss, Tensor? correct, Tensor? total = null)
    {
        var (n, c) = BackendChecks.SoftmaxCrossEntropy(this, logits, labels, dlogits, loss, correct, total);
        var y = labels.Span<int>();
        for (int row = 0; row < n; row++)
            if ((uint)y[row] >= (uint)c)
                throw new ArgumentOutOfRangeException(nameof(labels), $"label {y[row]} in row {row} is outside [0, {c})");
        var job = CrossEntropyJob.ForCurrentThread();
        job.Set(logits, labels, dlogits, n, c);
        ElementwiseParts.RunRows(job, n, c);
        double lossSum = 0;
        foreach (double rowLoss in job.RowLosses)
            lossSum += rowLoss;
        T mean = Of(lossSum / n);
        loss.Span<T>()[0] = mean;
        if (correct is not null) correct.Span<int>()[0] += job.Hits;
        if (total is not null) total.Span<T>()[0] += Of(n) * mean;
    }

    /// <summary>One loss's operands and per-row results, reused per calling thread.</summary>
    private sealed class CrossEntropyJob : ISplitElementwise
    {
        [ThreadStatic]
        private static CrossEntropyJob? s_current;

        private Tensor? _logits, _labels, _dlogits;
        private int _n, _c, _parts, _hits;
        private double[] _rowLosses = [];

        public static CrossEntropyJob ForCurrentThread() => s_current ??= new CrossEntropyJob();

        public ReadOnlySpan<double> RowLosses => _rowLosses.AsSpan(0, _n);

        public int Hits => _hits;

        public void Set(Tensor logits, Tensor labels, Tensor? dlogits, int n, int c)
        {
            (_logits, _labels, _dlogits, _n, _c, _hits) = (logits, labels, dlogits, n, c, 0);
            if (_rowLosses.Length < n) _rowLosses = new double[n];
        }

        public void Prepare(int parts) => _parts = parts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunPart(int part)
        {
            var (start, end) = ElementwiseParts.RowRange(_n, _parts, part);
            var z = _logits!.Span<T>();
            var y = _labels!.Span<int>();
            var dz = _dlogits is null ? default : _dlogits.Span<T>();
            T invN = Of(1.0 / _n);
            int hits = 0;
            for (int row = start; row < end; row++)
            {
                int label = y[row];
                var zr = z.Slice(row * _c, _c);
                // Max-subtracted log-sum-exp: loss_row = log(sum_j exp(z_j - max)) + max - z_label.
                int argmax = 0;
                for (int j = 1; j < _c; j++) if (zr[j] > zr[argmax]) argmax = j;
                // Read before dlogits is written: it may be the logits' own storage.
                T max = zr[argmax], atLabel = zr[label], sum = T.Zero;
                var dr = _dlogits is null ? default : dz.Slice(row * _c, _c);
                for (int j = 0; j < _c; j++)
                {
                    T e = T.Exp(zr[j] - max);
                    sum += e;
                    if (!dr.IsEmpty) dr[j] = e;
                }
                _rowLosses[row] = double.CreateTruncating(T.Log(sum) + max - atLabel);
                if (argmax == label) hits++;
                for (int j = 0; j < dr.Length; j++)
                    dr[j] = (dr[j] / sum - (j == label ? T.One : T.Zero)) * invN;
            }
            Interlocked.Add(ref _hits, hits);
        }
    }
}
