using System.Numerics;
using System.Numerics.Tensors;

namespace CudaNn.Backends.Cpu;

public sealed partial class CpuBackend<T>
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

    public override void DropoutForward(Tensor x, Tensor y, Tensor noise, Tensor rngState, double p)
    {
        BackendChecks.Dropout(this, x, y, noise, rngState, p);
        int n = checked((int)x.Numel);
        if (n == 0) return;
        var state = rngState.Span<int>();
        ulong seed = (uint)state[0] | (ulong)(uint)state[1] << 32, call = (uint)state[2] | (ulong)(uint)state[3] << 32;
        var keep = System.Buffers.ArrayPool<bool>.Shared.Rent(n);
        try
        {
            Philox.DropoutKeeps(seed, call, p, keep.AsSpan(0, n));
            // As PyTorch scales: noise = bernoulli(1 - p) / (1 - p), the divisor rounded to the dtype first.
            T scale = T.One / Of(1 - p);
            var xs = x.Span<T>();
            var ys = y.Span<T>();
            var ns = noise.Span<T>();
            for (int i = 0; i < n; i++)
            {
                ns[i] = keep[i] ? scale : T.Zero;
                ys[i] = xs[i] * ns[i];
            }
        }
        finally
        {
            System.Buffers.ArrayPool<bool>.Shared.Return(keep);
        }
        call++;
        state[2] = (int)(uint)call;
        state[3] = (int)(uint)(call >> 32);
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
            // dx = y > 0 ? dy : 0, a vector at a time
            for (int lanes = Vector<T>.Count; i + lanes <= ys.Length; i += lanes)
                Vector.ConditionalSelect(Vector.GreaterThan(new Vector<T>(ys[i..]), Vector<T>.Zero), new Vector<T>(dys[i..]), Vector<T>.Zero)
                    .CopyTo(dxs[i..]);
        }
        if (activation.BackwardReadsInput())
            for (; i < ys.Length; i++) dxs[i] = dys[i] * DerivativeAtInput(activation, ys[i]);
        else
            for (; i < ys.Length; i++) dxs[i] = dys[i] * Derivative(activation, ys[i]);
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

    /// <summary>y = act(x) elementwise; x and y may be the same span.</summary>
    private static void Apply(Activation activation, ReadOnlySpan<T> x, Span<T> y)
    {
        switch (activation)
        {
            case Activation.Identity:
                x.CopyTo(y);
                break;
            case Activation.ReLU:
                TensorPrimitives.Max(x, T.Zero, y); // max(x, 0)
                break;
            case Activation.Sigmoid:
                for (int i = 0; i < x.Length; i++) y[i] = T.One / (T.One + T.Exp(-x[i]));
                break;
            case Activation.Tanh:
                for (int i = 0; i < x.Length; i++) y[i] = T.Tanh(x[i]);
                break;
            case Activation.GELU:
                // PyTorch's x * 0.5 * (1 + erf(x / √2)); .NET has no erf, so it is computed in float64 (see Erf).
                for (int i = 0; i < x.Length; i++)
                {
                    double v = double.CreateTruncating(x[i]);
                    y[i] = Of(v * 0.5 * (1 + Erf(v * Sqrt1Over2)));
                }
                break;
            case Activation.SiLU:
                for (int i = 0; i < x.Length; i++) y[i] = x[i] / (T.One + T.Exp(-x[i]));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }

    /// <summary>act'(x) expressed through y = act(x).</summary>
    private static T Derivative(Activation activation, T y) => activation switch
    {
        Activation.Identity => T.One,
        Activation.ReLU => y > T.Zero ? T.One : T.Zero,
        Activation.Sigmoid => y * (T.One - y),
        Activation.Tanh => T.One - y * y,
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    private const double Sqrt1Over2 = 0.70710678118654752440;

    /// <summary>act'(x) at the input x, for the activations whose derivative needs it, in PyTorch's formulas.</summary>
    private static T DerivativeAtInput(Activation activation, T x)
    {
        switch (activation)
        {
            case Activation.GELU:
            {
                double v = double.CreateTruncating(x);
                double cdf = 0.5 * (1 + Erf(v * Sqrt1Over2));
                double pdf = 2 / Math.Sqrt(Math.PI) * Sqrt1Over2 * 0.5 * Math.Exp(v * v * -0.5);
                return Of(cdf + v * pdf);
            }
            case Activation.SiLU:
            {
                T s = T.One / (T.One + T.Exp(-x));
                return s * (T.One + x * (T.One - s));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }

    /// <summary>
    /// The error function, to within a few units of float64 rounding: erf(x) = 2/√π e^(-x²) Σ (2x²)^n x / (1·3·…·(2n+1)),
    /// a series of positive terms (so nothing cancels), for |x| &lt; 6; beyond, erf is ±1 to float64 precision
    /// (erfc(6) ≈ 2e-17).
    /// </summary>
    internal static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double a = Math.Abs(x);
        if (a >= 6) return Math.Sign(x);
        double twoXSquared = 2 * a * a, term = a, sum = a;
        for (int n = 1; term > 1e-17 * sum; n++)
        {
            term *= twoXSquared / (2 * n + 1);
            sum += term;
        }
        double erf = 2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a) * sum;
        return x < 0 ? -erf : erf;
    }
}
