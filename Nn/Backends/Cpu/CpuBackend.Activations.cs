namespace CudaNn.Backends.Cpu;

public sealed partial class CpuBackend<T>
{
    public override void BiasActivationForward(Tensor y, Tensor? bias, Activation activation)
    {
        BackendChecks.Same(this, nameof(BiasActivationForward), y, bias);
        BackendChecks.Rank(nameof(BiasActivationForward), 2, y);
        int cols = y.Shape[1];
        if (bias is not null && bias.Numel != cols)
            throw new ArgumentException($"{nameof(BiasActivationForward)}: bias {bias} does not match {cols} columns of {y}");
        // y[n, c] = act(y[n, c] + bias[c])
        var ys = y.Span<T>();
        var bs = bias is null ? default : bias.Span<T>();
        for (int i = 0; i < ys.Length; i++)
            ys[i] = Apply(activation, bias is null ? ys[i] : ys[i] + bs[i % cols]);
    }

    public override void ActivationForward(Tensor x, Tensor y, Activation activation)
    {
        BackendChecks.Same(this, nameof(ActivationForward), x, y);
        BackendChecks.SameNumel(nameof(ActivationForward), x, y);
        var xs = x.Span<T>();
        var ys = y.Span<T>();
        for (int i = 0; i < xs.Length; i++) ys[i] = Apply(activation, xs[i]);
    }

    public override void ActivationBackward(Tensor y, Tensor dy, Tensor dx, Activation activation)
    {
        BackendChecks.Same(this, nameof(ActivationBackward), y, dy, dx);
        BackendChecks.SameNumel(nameof(ActivationBackward), y, dy);
        BackendChecks.SameNumel(nameof(ActivationBackward), y, dx);
        var ys = y.Span<T>();
        var dys = dy.Span<T>();
        var dxs = dx.Span<T>();
        for (int i = 0; i < ys.Length; i++) dxs[i] = dys[i] * Derivative(activation, ys[i]);
    }

    public override void BiasGradient(Tensor dy, Tensor dbias)
    {
        BackendChecks.Same(this, nameof(BiasGradient), dy, dbias);
        BackendChecks.Rank(nameof(BiasGradient), 2, dy);
        int rows = dy.Shape[0], cols = dy.Shape[1];
        if (dbias.Numel != cols)
            throw new ArgumentException($"{nameof(BiasGradient)}: dbias {dbias} does not match {cols} columns of {dy}");
        // dbias[c] += sum_n dy[n, c]
        var dys = dy.Span<T>();
        var db = dbias.Span<T>();
        for (int n = 0; n < rows; n++)
        {
            var row = dys.Slice(n * cols, cols);
            for (int c = 0; c < cols; c++) db[c] += row[c];
        }
    }

    private static T Apply(Activation activation, T x) => activation switch
    {
        Activation.Identity => x,
        Activation.ReLU => x > T.Zero ? x : T.Zero,
        Activation.Sigmoid => T.One / (T.One + T.Exp(-x)),
        Activation.Tanh => T.Tanh(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    /// <summary>act'(x) expressed through y = act(x).</summary>
    private static T Derivative(Activation activation, T y) => activation switch
    {
        Activation.Identity => T.One,
        Activation.ReLU => y > T.Zero ? T.One : T.Zero,
        Activation.Sigmoid => y * (T.One - y),
        Activation.Tanh => T.One - y * y,
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };
}
