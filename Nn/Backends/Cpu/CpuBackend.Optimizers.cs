namespace CudaNn.Backends.Cpu;

public sealed partial class CpuBackend<T>
{
    public override void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamStepArgs args)
    {
        BackendChecks.Same(this, nameof(AdamStep), param, grad, m, v);
        BackendChecks.SameNumel(nameof(AdamStep), param, grad);
        BackendChecks.SameNumel(nameof(AdamStep), param, m);
        BackendChecks.SameNumel(nameof(AdamStep), param, v);
        var p = param.Span<T>();
        var g = grad.Span<T>();
        var ms = m.Span<T>();
        var vs = v.Span<T>();
        T b1 = Of(args.Beta1), b2 = Of(args.Beta2), eps = Of(args.Eps), wd = Of(args.WeightDecay);
        T stepSize = Of(args.LearningRate / args.BiasCorrection1);
        T sqrtBc2 = Of(Math.Sqrt(args.BiasCorrection2));
        T decay = Of(1 - args.LearningRate * args.WeightDecay);
        for (int i = 0; i < p.Length; i++)
        {
            T gi = g[i];
            if (args.DecoupledWeightDecay) p[i] *= decay;
            else gi += wd * p[i];
            ms[i] = b1 * ms[i] + (T.One - b1) * gi;
            vs[i] = b2 * vs[i] + (T.One - b2) * gi * gi;
            p[i] -= stepSize * ms[i] / (T.Sqrt(vs[i]) / sqrtBc2 + eps);
        }
    }

    public override void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, SgdStepArgs args)
    {
        BackendChecks.Same(this, nameof(SgdStep), param, grad, momentumBuffer);
        BackendChecks.SameNumel(nameof(SgdStep), param, grad);
        if (momentumBuffer is not null) BackendChecks.SameNumel(nameof(SgdStep), param, momentumBuffer);
        var p = param.Span<T>();
        var g = grad.Span<T>();
        var buf = momentumBuffer is null ? default : momentumBuffer.Span<T>();
        T lr = Of(args.LearningRate), mu = Of(args.Momentum), wd = Of(args.WeightDecay), keep = Of(1 - args.Dampening);
        for (int i = 0; i < p.Length; i++)
        {
            T d = g[i] + wd * p[i];
            if (momentumBuffer is not null)
            {
                buf[i] = args.FirstStep ? d : mu * buf[i] + keep * d;
                d = args.Nesterov ? d + mu * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }
}
