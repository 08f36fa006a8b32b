using System.Numerics;

namespace CudaNn.Backends.Cpu;

public sealed partial class CpuBackend<T>
{
    public override void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor step, Tensor hyperparameters, bool decoupled)
    {
        BackendChecks.Elementwise(this, nameof(AdamStep), param, grad, m, v);
        BackendChecks.Hyperparameters(this, nameof(AdamStep), hyperparameters, AdamStepArgs.Count);
        long t = IncrementStep(nameof(AdamStep), step);
        var job = AdamJob.ForCurrentThread();
        job.Set(param, grad, m, v, new AdamLanes(AdamStepArgs.From(hyperparameters.Span<double>(), decoupled), t));
        ElementwiseParts.Run(job, (int)param.Numel);
    }

    /// <summary>Adam over elements [start, end) of the flat buffers; <paramref name="start"/> is a whole number of lanes in.</summary>
    private static void AdamRange(Span<T> p, ReadOnlySpan<T> g, Span<T> ms, Span<T> vs, in AdamLanes c, int start, int end)
    {
        int lanes = Vector<T>.Count, whole = end - (end - start) % lanes;
        for (int i = start; i < whole; i += lanes)
        {
            var (pi, mi, vi) = c.Update(new Vector<T>(p[i..]), new Vector<T>(g[i..]), new Vector<T>(ms[i..]), new Vector<T>(vs[i..]));
            pi.CopyTo(p[i..]);
            mi.CopyTo(ms[i..]);
            vi.CopyTo(vs[i..]);
        }
        // The tail goes through the same lanes, zero-padded, so every element sees the one formula.
        int tail = end - whole;
        if (tail == 0) return;
        Span<T> pt = stackalloc T[lanes], gt = stackalloc T[lanes], mt = stackalloc T[lanes], vt = stackalloc T[lanes];
        pt.Clear(); gt.Clear(); mt.Clear(); vt.Clear();
        p[whole..end].CopyTo(pt); g[whole..end].CopyTo(gt); ms[whole..end].CopyTo(mt); vs[whole..end].CopyTo(vt);
        var (pv, mv, vv) = c.Update(new Vector<T>(pt), new Vector<T>(gt), new Vector<T>(mt), new Vector<T>(vt));
        pv.CopyTo(pt); mv.CopyTo(mt); vv.CopyTo(vt);
        pt[..tail].CopyTo(p[whole..end]); mt[..tail].CopyTo(ms[whole..end]); vt[..tail].CopyTo(vs[whole..end]);
    }

    /// <summary>One Adam step's operands, reused per calling thread, so splitting the step across cores allocates nothing.</summary>
    private sealed class AdamJob : ISplitElementwise
    {
        [ThreadStatic]
        private static AdamJob? s_current;

        private Tensor? _p, _g, _m, _v;
        private AdamLanes _lanes;
        private int _length, _parts;

        public static AdamJob ForCurrentThread() => s_current ??= new AdamJob();

        public void Set(Tensor p, Tensor g, Tensor m, Tensor v, AdamLanes lanes)
        {
            (_p, _g, _m, _v, _lanes, _length) = (p, g, m, v, lanes, (int)p.Numel);
        }

        public void Prepare(int parts) => _parts = parts;

        public void RunPart(int part)
        {
            var (start, end) = ElementwiseParts.Range(_length, _parts, part);
            AdamRange(_p!.Span<T>(), _g!.Span<T>(), _m!.Span<T>(), _v!.Span<T>(), _lanes, start, end);
        }
    }

    /// <summary>Adam's update for one vector of lanes, exactly as PyTorch orders it (see <see cref="AdamStepArgs"/>).</summary>
    private readonly struct AdamLanes(AdamStepArgs args, long t)
    {
        private readonly Vector<T> _b1 = new(Of(args.Beta1)), _b2 = new(Of(args.Beta2));
        private readonly Vector<T> _oneMinusB1 = new(T.One - Of(args.Beta1)), _oneMinusB2 = new(T.One - Of(args.Beta2));
        private readonly Vector<T> _eps = new(Of(args.Eps)), _wd = new(Of(args.WeightDecay));
        private readonly Vector<T> _stepSize = new(Of(args.LearningRate / args.BiasCorrection1(t)));
        private readonly Vector<T> _sqrtBc2 = new(Of(Math.Sqrt(args.BiasCorrection2(t))));
        private readonly Vector<T> _decay = new(Of(1 - args.LearningRate * args.WeightDecay));
        private readonly bool _decoupled = args.DecoupledWeightDecay;

        public (Vector<T> P, Vector<T> M, Vector<T> V) Update(Vector<T> p, Vector<T> g, Vector<T> m, Vector<T> v)
        {
            if (_decoupled) p *= _decay;   // AdamW: p *= 1 - lr * wd
            else g += _wd * p;             // Adam:  g += wd * p
            m = _b1 * m + _oneMinusB1 * g;
            v = _b2 * v + _oneMinusB2 * g * g;
            p -= _stepSize * m / (Vector.SquareRoot(v) / _sqrtBc2 + _eps);
            return (p, m, v);
        }
    }

    public override void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, Tensor step, Tensor hyperparameters)
    {
        BackendChecks.Elementwise(this, nameof(SgdStep), param, grad, momentumBuffer);
        BackendChecks.Hyperparameters(this, nameof(SgdStep), hyperparameters, SgdStepArgs.Count);
        var args = SgdStepArgs.From(hyperparameters.Span<double>());
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
    private long IncrementStep(string op, Tensor step)
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
