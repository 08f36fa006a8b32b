namespace CudaNn.Backends.Reference;

internal partial class ReferenceBackend<T>
{
    public override void LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        var (rows, cols) = BackendChecks.LayerNorm(this, nameof(LayerNormForward), x, weight, bias, y, mean, rstd);
        BackendChecks.Epsilon(nameof(LayerNormForward), eps);
        var xs = x.Span<T>();
        var ys = y.Span<T>();
        var ws = weight is null ? default : weight.Span<T>();
        var bs = bias is null ? default : bias.Span<T>();
        var means = mean.Span<T>();
        var rstds = rstd.Span<T>();
        T count = Of(cols), epsilon = Of(eps);
        for (int r = 0; r < rows; r++)
        {
            var row = xs.Slice(r * cols, cols);
            var output = ys.Slice(r * cols, cols);
            // The mean as the kernel sums it: deviations from the row's first element, so rows far from zero keep their digits.
            T shift = row[0], sum = T.Zero, squares = T.Zero;
            for (int c = 0; c < cols; c++) sum += row[c] - shift;
            T mu = shift + sum / count;
            for (int c = 0; c < cols; c++) squares += (row[c] - mu) * (row[c] - mu);
            T rs = T.One / T.Sqrt(squares / count + epsilon);
            for (int c = 0; c < cols; c++)
            {
                T v = (row[c] - mu) * rs;
                if (weight is not null) v *= ws[c];
                if (bias is not null) v += bs[c];
                output[c] = v;
            }
            means[r] = mu;
            rstds[r] = rs;
        }
    }

    public override void LayerNormBackward(Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (rows, cols) = BackendChecks.LayerNorm(this, nameof(LayerNormBackward), x, weight, null, dy, mean, rstd, dweight, dbias);
        if (dx is not null) BackendChecks.Elementwise(this, nameof(LayerNormBackward), x, dx);
        var xs = x.Span<T>();
        var dys = dy.Span<T>();
        var dxs = dx is null ? default : dx.Span<T>();
        var ws = weight is null ? default : weight.Span<T>();
        var dws = dweight is null ? default : dweight.Span<T>();
        var dbs = dbias is null ? default : dbias.Span<T>();
        var means = mean.Span<T>();
        var rstds = rstd.Span<T>();
        T count = Of(cols);
        for (int r = 0; r < rows; r++)
        {
            int start = r * cols;
            T mu = means[r], rs = rstds[r];
            T sumG = T.Zero, sumGXhat = T.Zero;
            for (int c = 0; c < cols; c++)
            {
                T xhat = (xs[start + c] - mu) * rs;
                T g = weight is null ? dys[start + c] : dys[start + c] * ws[c];
                sumG += g;
                sumGXhat += g * xhat;
                if (dweight is not null) dws[c] += dys[start + c] * xhat;
                if (dbias is not null) dbs[c] += dys[start + c];
            }
            if (dx is null) continue;
            T meanG = sumG / count, meanGXhat = sumGXhat / count;
            for (int c = 0; c < cols; c++)
            {
                T xhat = (xs[start + c] - mu) * rs;
                T g = weight is null ? dys[start + c] : dys[start + c] * ws[c];
                dxs[start + c] = rs * (g - meanG - xhat * meanGXhat);
            }
        }
    }
}
