using System.Numerics;
using System.Numerics.Tensors;

namespace CudaNn.Backends.Cpu;

internal sealed partial class CpuBackend<T>
{
    public override void BiasActivationForward(Tensor y, Tensor? bias, Activation activation)
    {
        var (_, cols) = BackendChecks.BiasActivation(this, y, bias);
        // y[n, c] = act(y[n, c] + bias[c]), a row at a time
        var ys = y.Span<T>();
        var bs = bias is null ? default : bias.Span<T>();
        for (int start = 0; start < ys.Length; start += cols)
        {
            var row = ys.Slice(start, cols);
            if (bias is not null) TensorPrimitives.Add(row, bs, row);
            Apply(activation, row, row);
        }
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
        var ys = saved.Span<T>(); // y, or x when the activation reads its input
        var dys = dy.Span<T>();
        var dxs = dx.Span<T>();
        int i = 0;
        if (activation == Activation.ReLU)
        {
            // dx = dy * (y > 0 ? 1 : 0), a vector at a time: the reference's product, so a negative dy gives -0 alike
            for (int lanes = Vector<T>.Count; i + lanes <= ys.Length; i += lanes)
                (new Vector<T>(dys[i..]) * Vector.ConditionalSelect(Vector.GreaterThan(new Vector<T>(ys[i..]), Vector<T>.Zero), Vector<T>.One, Vector<T>.Zero))
                    .CopyTo(dxs[i..]);
        }
        for (; i < ys.Length; i++) dxs[i] = dys[i] * activation.Slope(ys[i]);
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
}
