using System.Numerics;
using System.Runtime.CompilerServices;
using CudaNn.Kernels;

namespace CudaNn.Backends.Cpu;

internal sealed partial class CpuBackend<T>
{
    public override void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor step, Tensor hyperparameters, bool decoupled, Tensor? maxV = null)
    {
        BackendChecks.Elementwise(this, nameof(AdamStep), param, grad, m, v, maxV);
        BackendChecks.Hyperparameters(this, nameof(AdamStep), hyperparameters, AdamHyperparameters.Count);
        long t = IncrementStep(nameof(AdamStep), step);
        var job = AdamJob.ForCurrentThread();
        job.Set(param, grad, m, v, maxV, new AdamLanes(AdamHyperparameters.From(hyperparameters.Span<double>(), decoupled), t, maxV is not null));
        ElementwiseParts.Run(job, (int)param.Numel);
    }

    /// <summary>
    /// Adam over elements [start, end) of the flat buffers; <paramref name="start"/> is a whole number of lanes in.
    /// <paramref name="mxs"/> (amsgrad's running maximum of v) is empty when amsgrad is off.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AdamRange(Span<T> p, ReadOnlySpan<T> g, Span<T> ms, Span<T> vs, Span<T> mxs, in AdamLanes c, int start, int end)
    {
        bool amsgrad = !mxs.IsEmpty;
        int lanes = Vector<T>.Count, whole = end - (end - start) % lanes;
        for (int i = start; i < whole; i += lanes)
        {
            var (pi, mi, vi, mx) = c.Update(new Vector<T>(p[i..]), new Vector<T>(g[i..]), new Vector<T>(ms[i..]), new Vector<T>(vs[i..]),
                amsgrad ? new Vector<T>(mxs[i..]) : Vector<T>.Zero);
            pi.CopyTo(p[i..]);
            mi.CopyTo(ms[i..]);
            vi.CopyTo(vs[i..]);
            if (amsgrad) mx.CopyTo(mxs[i..]);
        }
        // The tail goes through the same lanes, zero-padded, so every element sees the one formula.
        int tail = end - whole;
        if (tail == 0) return;
        Span<T> pt = stackalloc T[lanes], gt = stackalloc T[lanes], mt = stackalloc T[lanes], vt = stackalloc T[lanes], xt = stackalloc T[lanes];
        pt.Clear(); gt.Clear(); mt.Clear(); vt.Clear(); xt.Clear();
        p[whole..end].CopyTo(pt); g[whole..end].CopyTo(gt); ms[whole..end].CopyTo(mt); vs[whole..end].CopyTo(vt);
        if (amsgrad) mxs[whole..end].CopyTo(xt);
        var (pv, mv, vv, xv) = c.Update(new Vector<T>(pt), new Vector<T>(gt), new Vector<T>(mt), new Vector<T>(vt), new Vector<T>(xt));
        pv.CopyTo(pt); mv.CopyTo(mt); vv.CopyTo(vt); xv.CopyTo(xt);
        pt[..tail].CopyTo(p[whole..end]); mt[..tail].CopyTo(ms[whole..end]); vt[..tail].CopyTo(vs[whole..end]);
        if (amsgrad) xt[..tail].CopyTo(mxs[whole..end]);
    }

    /// <summary>One Adam step's operands, reused per calling thread, so splitting the step across cores allocates nothing.</summary>
    private sealed class AdamJob : ISplitElementwise
    {
        [ThreadStatic]
        private static AdamJob? s_current;

        private Tensor? _p, _g, _m, _v, _maxV;
        private AdamLanes _lanes;
        private int _length, _parts;

        public static AdamJob ForCurrentThread() => s_current ??= new AdamJob();

        public void Set(Tensor p, Tensor g, Tensor m, Tensor v, Tensor? maxV, AdamLanes lanes)
        {
            (_p, _g, _m, _v, _maxV, _lanes, _length) = (p, g, m, v, maxV, lanes, (int)p.Numel);
        }

        public void Prepare(int parts) => _parts = parts;

        public void RunPart(int part)
        {
            var (start, end) = ElementwiseParts.Range(_length, _parts, part);
            AdamRange(_p!.Span<T>(), _g!.Span<T>(), _m!.Span<T>(), _v!.Span<T>(), _maxV is null ? default : _maxV.Span<T>(), _lanes, start, end);
        }
    }

    /// <summary>Adam's update for one vector of lanes, exactly as PyTorch orders it (see <see cref="AdamHyperparameters"/>).</summary>
    private readonly struct AdamLanes(AdamHyperparameters args, long t, bool amsgrad)
    {
        private readonly Vector<T> _b1 = new(Of(args.Beta1)), _b2 = new(Of(args.Beta2));
        private readonly Vector<T> _oneMinusB1 = new(T.One - Of(args.Beta1)), _oneMinusB2 = new(T.One - Of(args.Beta2));
        private readonly Vector<T> _eps = new(Of(args.Eps)), _wd = new(Of(args.WeightDecay));
        private readonly Vector<T> _stepSize = new(Of(args.LearningRate / args.BiasCorrection1(t)));
        private readonly Vector<T> _sqrtBc2 = new(Of(Math.Sqrt(args.BiasCorrection2(t))));
        private readonly Vector<T> _decay = new(Of(1 - args.LearningRate * args.WeightDecay));
        private readonly bool _decoupled = args.Decoupled;

        private readonly bool _amsgrad = amsgrad;

        /// <summary>The update of p, m, v and, with amsgrad, the running maximum of v, which then stands for v in the denominator.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public (Vector<T> P, Vector<T> M, Vector<T> V, Vector<T> MaxV) Update(Vector<T> p, Vector<T> g, Vector<T> m, Vector<T> v, Vector<T> maxV)
        {
            if (_decoupled) p *= _decay;   // AdamW: p *= 1 - lr * wd
            else g += _wd * p;             // Adam:  g += wd * p
            m = _b1 * m + _oneMinusB1 * g;
            v = _b2 * v + _oneMinusB2 * g * g;
            if (_amsgrad) maxV = Vector.Max(maxV, v);
            p -= _stepSize * m / (Vector.SquareRoot(_amsgrad ? maxV : v) / _sqrtBc2 + _eps);
            return (p, m, v, maxV);
        }
    }
}
