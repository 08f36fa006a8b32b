using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace CudaNn.Backends.Cpu;

internal sealed partial class CpuBackend<T>
{
    public override void BiasActivationForward(Tensor y, Tensor? bias, Activation activation)
    {
        var (rows, cols) = BackendChecks.BiasActivation(this, y, bias);
        var job = BiasActivationJob.ForCurrentThread();
        job.Set(y, bias, activation, rows, cols);
        ElementwiseParts.RunRows(job, rows, cols);
    }

    public override void Multiply(Tensor x, Tensor y, Tensor z)
    {
        BackendChecks.Elementwise(this, nameof(Multiply), x, y, z);
        TensorPrimitives.Multiply(x.Span<T>(), y.Span<T>(), z.Span<T>());
    }

    public override void ActivationForward(Tensor x, Tensor y, Activation activation)
    {
        BackendChecks.Elementwise(this, nameof(ActivationForward), x, y);
        Apply(activation, x.Span<T>(), y.Span<T>());
    }

    public override void ActivationBackward(Tensor saved, Tensor dy, Tensor dx, Activation activation)
    {
        BackendChecks.Elementwise(this, nameof(ActivationBackward), saved, dy, dx);
        var job = ActivationBackwardJob.ForCurrentThread();
        job.Set(saved, dy, dx, activation);
        ElementwiseParts.Run(job, (int)saved.Numel);
    }

    /// <summary>dx = dy * act'(saved) over [start, end); start is a whole number of vectors in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ActivationBackwardRange(ReadOnlySpan<T> ys, ReadOnlySpan<T> dys, Span<T> dxs, Activation activation, int start, int end)
    {
        int i = start;
        if (activation == Activation.ReLU)
        {
            // dx = dy * (y > 0 ? 1 : 0), a vector at a time: the reference's product, so a negative dy gives -0 alike
            for (int lanes = Vector<T>.Count; i + lanes <= end; i += lanes)
                (new Vector<T>(dys[i..]) * Vector.ConditionalSelect(Vector.GreaterThan(new Vector<T>(ys[i..]), Vector<T>.Zero), Vector<T>.One, Vector<T>.Zero))
                    .CopyTo(dxs[i..]);
        }
        for (; i < end; i++) dxs[i] = dys[i] * activation.Slope(ys[i]);
    }

    public override void BiasGradient(Tensor dy, Tensor dbias, bool accumulate = true)
    {
        var (rows, cols) = BackendChecks.BiasGradient(this, dy, dbias);
        // dbias[c] += sum_n dy[n, c], rows in order: written over dbias, the first row's add starts from zero instead
        var dys = dy.Span<T>();
        var db = dbias.Span<T>();
        if (!accumulate) db.Clear();
        for (int n = 0; n < rows; n++) TensorPrimitives.Add(db, dys.Slice(n * cols, cols), db);
    }

    /// <summary>y = act(x) elementwise, ReLU and the identity a vector at a time; x and y may be the same span.</summary>
    private static void Apply(Activation activation, ReadOnlySpan<T> x, Span<T> y)
    {
        if (activation == Activation.Identity)
            x.CopyTo(y);
        else if (activation == Activation.ReLU)
            TensorPrimitives.Max(x, T.Zero, y); // max(x, 0)
        else
            for (int i = 0; i < x.Length; i++) y[i] = activation.Forward(x[i]);
    }

    /// <summary>y = act(y + bias) a row at a time, rows split across the cores; reused per calling thread.</summary>
    private sealed class BiasActivationJob : ISplitElementwise
    {
        [ThreadStatic]
        private static BiasActivationJob? s_current;

        private Tensor? _y, _bias;
        private Activation _activation = Activation.Identity;
        private int _rows, _cols, _parts;

        public static BiasActivationJob ForCurrentThread() => s_current ??= new BiasActivationJob();

        public void Set(Tensor y, Tensor? bias, Activation activation, int rows, int cols) =>
            (_y, _bias, _activation, _rows, _cols) = (y, bias, activation, rows, cols);

        public void Prepare(int parts) => _parts = parts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunPart(int part)
        {
            var ys = _y!.Span<T>();
            var (start, end) = ElementwiseParts.RowRange(_rows, _parts, part);
            var bs = _bias is null ? default : _bias.Span<T>();
            for (int r = start; r < end; r++)
            {
                var row = ys.Slice(r * _cols, _cols);
                if (_bias is not null) TensorPrimitives.Add(row, bs, row);
                Apply(_activation, row, row);
            }
        }
    }

    /// <summary>An activation's backward over flat buffers, split across the cores; reused per calling thread.</summary>
    private sealed class ActivationBackwardJob : ISplitElementwise
    {
        [ThreadStatic]
        private static ActivationBackwardJob? s_current;

        private Tensor? _saved, _dy, _dx;
        private Activation _activation = Activation.Identity;
        private int _parts;

        public static ActivationBackwardJob ForCurrentThread() => s_current ??= new ActivationBackwardJob();

        public void Set(Tensor saved, Tensor dy, Tensor dx, Activation activation) => (_saved, _dy, _dx, _activation) = (saved, dy, dx, activation);

        public void Prepare(int parts) => _parts = parts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunPart(int part)
        {
            var (start, end) = ElementwiseParts.Range((int)_saved!.Numel, _parts, part);
            ActivationBackwardRange(_saved.Span<T>(), _dy!.Span<T>(), _dx!.Span<T>(), _activation, start, end);
        }
    }
}
