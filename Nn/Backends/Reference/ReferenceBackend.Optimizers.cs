using CudaNn.Kernels;
namespace CudaNn.Backends.Reference;

internal partial class ReferenceBackend<T>
{
    public override void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor step, Tensor hyperparameters, bool decoupled, Tensor? maxV = null)
    {
        BackendChecks.Elementwise(this, nameof(AdamStep), param, grad, m, v, maxV);
        BackendChecks.Hyperparameters(this, nameof(AdamStep), hyperparameters, AdamHyperparameters.Count);
        long t = IncrementStep(nameof(AdamStep), step);
        var args = AdamHyperparameters.From(hyperparameters.Span<double>(), decoupled);
        // PyTorch's order (see AdamHyperparameters): weight decay, the moments, amsgrad's maximum, then
        // p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
        T b1 = Of(args.Beta1), b2 = Of(args.Beta2), oneMinusB1 = T.One - b1, oneMinusB2 = T.One - b2;
        T eps = Of(args.Eps), wd = Of(args.WeightDecay), decay = Of(1 - args.LearningRate * args.WeightDecay);
        T stepSize = Of(args.LearningRate / args.BiasCorrection1(t)), sqrtBc2 = Of(Math.Sqrt(args.BiasCorrection2(t)));
        var p = param.Span<T>();
        var g = grad.Span<T>();
        var ms = m.Span<T>();
        var vs = v.Span<T>();
        var mx = maxV is null ? default : maxV.Span<T>();
        for (int i = 0; i < p.Length; i++)
        {
            T gi = g[i];
            if (args.Decoupled) p[i] *= decay;
            else gi += wd * p[i];
            ms[i] = b1 * ms[i] + oneMinusB1 * gi;
            vs[i] = b2 * vs[i] + oneMinusB2 * gi * gi;
            T denominatorV = vs[i];
            if (maxV is not null) denominatorV = mx[i] = T.Max(mx[i], vs[i]);
            p[i] -= stepSize * ms[i] / (T.Sqrt(denominatorV) / sqrtBc2 + eps);
        }
    }

    public override void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, Tensor step, Tensor hyperparameters)
    {
        BackendChecks.Elementwise(this, nameof(SgdStep), param, grad, momentumBuffer);
        BackendChecks.Hyperparameters(this, nameof(SgdStep), hyperparameters, SgdHyperparameters.Count);
        var args = SgdHyperparameters.From(hyperparameters.Span<double>());
        if (args.Momentum != 0 && momentumBuffer is null)
            throw new ArgumentException($"{nameof(SgdStep)}: momentum {args.Momentum} needs a momentum buffer");
        bool firstStep = IncrementStep(nameof(SgdStep), step) == 1;
        var p = param.Span<T>();
        var g = grad.Span<T>();
        var buf = momentumBuffer is null ? default : momentumBuffer.Span<T>();
        T lr = Of(args.LearningRate), mu = Of(args.Momentum), wd = Of(args.WeightDecay), keep = Of(1 - args.Dampening);
        for (int i = 0; i < p.Length; i++)
        {
            T d = g[i] + wd * p[i];
            if (momentumBuffer is not null)
            {
                buf[i] = firstStep ? d : mu * buf[i] + keep * d;
                d = args.Nesterov ? d + mu * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    /// <summary>step[0] += 1; returns the new count.</summary>
    private protected long IncrementStep(string op, Tensor step)
    {
        BackendChecks.StepCounter(this, op, step);
        return ++step.Span<int>()[0];
    }

    public override void ClipGradNorm(IReadOnlyList<Tensor> grads, double maxNorm, Tensor totalNorm)
    {
        BackendChecks.ClipGradNorm(this, grads, maxNorm, totalNorm);
        double sum = 0;
        foreach (var g in grads)
            foreach (T v in g.Span<T>())
            {
                double d = double.CreateTruncating(v);
                sum += d * d;
            }
        double norm = Math.Sqrt(sum);
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient > 1) coefficient = 1;
        totalNorm.Span<T>()[0] = Of(norm);
        // As the device: the coefficient rounded to T once, then one multiply per element.
        T scale = Of(coefficient);
        foreach (var g in grads)
        {
            var span = g.Span<T>();
            for (int i = 0; i < span.Length; i++) span[i] *= scale;
        }
    }

    public override void Clamp(Tensor x, double min, double max)
    {
        BackendChecks.Clamp(this, x, min, max);
        T low = Of(min), high = Of(max);
        var span = x.Span<T>();
        for (int i = 0; i < span.Length; i++)
            span[i] = span[i] < low ? low : span[i] > high ? high : span[i];
    }
}
