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
            ys[i] = activation.Forward(bias is null ? ys[i] : ys[i] + bs[i % cols]);
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
        for (int i = 0; i < ys.Length; i++) ys[i] = activation.Forward(xs[i]);
    }

    public override void ActivationBackward(Tensor saved, Tensor dy, Tensor dx, Activation activation)
    {
        BackendChecks.Elementwise(this, nameof(ActivationBackward), saved, dy, dx);
        // dx = dy * act'(x), from the output y, or from the input x when the activation's derivative needs it
        var ss = saved.Span<T>();
        var dys = dy.Span<T>();
        var dxs = dx.Span<T>();
        for (int i = 0; i < dxs.Length; i++) dxs[i] = dys[i] * activation.Slope(ss[i]);
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
}
