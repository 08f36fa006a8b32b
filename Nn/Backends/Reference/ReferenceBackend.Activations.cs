namespace CudaNn.Backends.Reference;

internal partial class ReferenceBackend<T>
{
    public override void BiasActivationForward(Tensor y, Tensor? bias, Activation activation)
    {
        var (_, cols) = BackendChecks.BiasActivation(this, y, bias);
        // y[n, c] = act(y[n, c] + bias[c])
        var ys = y.Span<T>();
        var bs = bias is null ? default : bias.Span<T>();
        for (int i = 0; i < ys.Length; i++)
            ys[i] = Forward(activation, bias is null ? ys[i] : ys[i] + bs[i % cols]);
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
        var xs = x.Span<T>();
        var ys = y.Span<T>();
        var zs = z.Span<T>();
        for (int i = 0; i < zs.Length; i++) zs[i] = xs[i] * ys[i];
    }

    public override void ActivationForward(Tensor x, Tensor y, Activation activation)
    {
        BackendChecks.Elementwise(this, nameof(ActivationForward), x, y);
        var xs = x.Span<T>();
        var ys = y.Span<T>();
        for (int i = 0; i < ys.Length; i++) ys[i] = Forward(activation, xs[i]);
    }

    public override void ActivationBackward(Tensor saved, Tensor dy, Tensor dx, Activation activation)
    {
        BackendChecks.Elementwise(this, nameof(ActivationBackward), saved, dy, dx);
        // dx = dy * act'(x), from the output y, or from the input x when the activation's derivative needs it
        var ss = saved.Span<T>();
        var dys = dy.Span<T>();
        var dxs = dx.Span<T>();
        bool fromInput = activation.BackwardReadsInput();
        for (int i = 0; i < dxs.Length; i++)
            dxs[i] = dys[i] * (fromInput ? DerivativeAtInput(activation, ss[i]) : Derivative(activation, ss[i]));
    }

    public override void BiasGradient(Tensor dy, Tensor dbias, bool accumulate = true)
    {
        var (rows, cols) = BackendChecks.BiasGradient(this, dy, dbias);
        // dbias[c] += sum_n dy[n, c], rows in order; written over dbias when not accumulating
        var dys = dy.Span<T>();
        var db = dbias.Span<T>();
        if (!accumulate) db.Clear();
        for (int n = 0; n < rows; n++)
            for (int c = 0; c < cols; c++)
                db[c] += dys[n * cols + c];
    }

    /// <summary>act(x) for one element.</summary>
    private protected static T Forward(Activation activation, T x)
    {
        switch (activation)
        {
            case Activation.Identity:
                return x;
            case Activation.ReLU:
                return T.Max(x, T.Zero); // NaN stays NaN, as torch.relu
            case Activation.Sigmoid:
                return T.One / (T.One + T.Exp(-x));
            case Activation.Tanh:
                return T.Tanh(x);
            case Activation.GELU:
            {
                // PyTorch's x * 0.5 * (1 + erf(x / √2)); .NET has no erf, so it is computed in float64 (see Erf).
                double v = double.CreateTruncating(x);
                return Of(v * 0.5 * (1 + Erf(v * Sqrt1Over2)));
            }
            case Activation.SiLU:
                return x / (T.One + T.Exp(-x));
            default:
                throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }

    /// <summary>act'(x) expressed through y = act(x).</summary>
    private protected static T Derivative(Activation activation, T y) => activation switch
    {
        Activation.Identity => T.One,
        Activation.ReLU => y > T.Zero ? T.One : T.Zero,
        Activation.Sigmoid => y * (T.One - y),
        Activation.Tanh => T.One - y * y,
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    private const double Sqrt1Over2 = 0.70710678118654752440;

    /// <summary>act'(x) at the input x, for the activations whose derivative needs it, in PyTorch's formulas.</summary>
    private protected static T DerivativeAtInput(Activation activation, T x)
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
