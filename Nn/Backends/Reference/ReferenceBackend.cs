using System.Numerics;

namespace CudaNn.Backends.Reference;

/// <summary>
/// The oracle: every operation as plain loops over host arrays, generic over float and double, written to be obviously
/// right and nothing else. <c>verify</c>, <see cref="Verification.GradCheck"/> and the device tests compare against it,
/// and the fast CPU backend (<see cref="Cpu.CpuBackend{T}"/>) overrides only what it speeds up. Tensors on
/// <see cref="Device.Reference"/> compute here.
/// </summary>
internal partial class ReferenceBackend<T> : Backend where T : unmanaged, IFloatingPointIeee754<T>
{
    public static ReferenceBackend<T> Instance { get; } = new();

    private protected ReferenceBackend() { }

    public override Device Device => Device.Reference;
    public override DType DType => DTypeExtensions.Of<T>();

    private protected static T Of(double value) => T.CreateTruncating(value);

    public override void Gemm(bool transA, bool transB, double alpha, Tensor a, Tensor b, double beta, Tensor c)
    {
        var (m, n, k) = BackendChecks.Gemm(this, transA, transB, a, b, c);
        GemmLoops(transA, transB, m, n, k, Of(alpha), a.Span<T>(), a.Shape[1], b.Span<T>(), b.Shape[1], Of(beta), c.Span<T>(), n);
    }

    /// <summary>
    /// c[i, j] = alpha * sum_p op(a)[i, p] * op(b)[p, j] + beta * c[i, j] as a plain triple loop over row-major storage
    /// with leading dimensions lda, ldb, ldc; beta = 0 never reads c. What the fast CPU GEMM is tested against.
    /// </summary>
    internal static void GemmLoops(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
    {
        // c is (m,n); op(a) is (m,k): a is (m,k) or, transposed, (k,m); op(b) is (k,n): b is (k,n) or (n,k).
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                    sum += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                ref T cij = ref c[i * ldc + j];
                // beta == 0 must not read C: 0 * NaN would keep the NaN.
                cij = beta == T.Zero ? alpha * sum : alpha * sum + beta * cij;
            }
        }
    }

    public override void Fill(Tensor t, double value)
    {
        BackendChecks.Same(this, nameof(Fill), t);
        t.Span<T>().Fill(Of(value));
    }

    public override void Axpy(double alpha, Tensor x, Tensor y)
    {
        BackendChecks.Elementwise(this, nameof(Axpy), x, y);
        // y = y + alpha * x
        var xs = x.Span<T>();
        var ys = y.Span<T>();
        T a = Of(alpha);
        for (int i = 0; i < ys.Length; i++) ys[i] += a * xs[i];
    }

    public override void Copy(Tensor src, Tensor dst)
    {
        BackendChecks.OnDevice(this, nameof(Copy), src);
        BackendChecks.OnDevice(this, nameof(Copy), dst);
        BackendChecks.SameNumel(nameof(Copy), src, dst);
        if (src.DType != dst.DType)
            throw new ArgumentException($"Copy: {src} and {dst} differ in dtype");
        switch (src.DType)
        {
            case DType.Int32: src.Span<int>().CopyTo(dst.Span<int>()); break;
            case DType.UInt8: src.Span<byte>().CopyTo(dst.Span<byte>()); break;
            case DType.Float32: src.Span<float>().CopyTo(dst.Span<float>()); break;
            case DType.Float64: src.Span<double>().CopyTo(dst.Span<double>()); break;
        }
    }

    public override void GatherRows(Tensor source, Tensor indices, Tensor destination)
    {
        var (count, width, batch) = BackendChecks.GatherRows(this, source, indices, destination);
        switch (source.DType)
        {
            case DType.Int32: Gather(source.Span<int>(), indices.Span<int>(), destination.Span<int>(), count, width, batch, -1); break;
            case DType.UInt8: Gather(source.Span<byte>(), indices.Span<int>(), destination.Span<byte>(), count, width, batch, byte.MaxValue); break;
            case DType.Float32: Gather(source.Span<float>(), indices.Span<int>(), destination.Span<float>(), count, width, batch, float.NaN); break;
            case DType.Float64: Gather(source.Span<double>(), indices.Span<int>(), destination.Span<double>(), count, width, batch, double.NaN); break;
        }
    }

    private static void Gather<TValue>(ReadOnlySpan<TValue> from, ReadOnlySpan<int> indices, Span<TValue> to, int count, int width, int batch, TValue missing)
    {
        for (int b = 0; b < batch; b++)
        {
            var row = to.Slice(b * width, width);
            if ((uint)indices[b] < (uint)count) from.Slice(indices[b] * width, width).CopyTo(row);
            else row.Fill(missing);
        }
    }

    internal override void GatherNormalize(Tensor images, Tensor labels, Tensor indices, Tensor x, Tensor y, double mean, double std)
    {
        var (count, features, batch) = BackendChecks.GatherNormalize(this, images, labels, indices, x, y);
        // x[b, d] = images[idx[b], d] * (1 / (255 std)) + (-mean / std) ; y[b] = labels[idx[b]]
        var img = images.Span<byte>();
        var lab = labels.Span<byte>();
        var idx = indices.Span<int>();
        var xs = x.Span<T>();
        var ys = y.Span<int>();
        T scale = Of(1.0 / (255.0 * std)), shift = Of(-mean / std);
        for (int b = 0; b < batch; b++)
        {
            int row = idx[b];
            if ((uint)row >= (uint)count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {row} outside a data set of {count}");
            NormalizeRow(img.Slice(row * features, features), xs.Slice(b * features, features), scale, shift);
            ys[b] = lab[row];
        }
    }

    /// <summary>x[d] = pixels[d] * scale + shift, one image's row of the gather.</summary>
    private protected virtual void NormalizeRow(ReadOnlySpan<byte> pixels, Span<T> x, T scale, T shift)
    {
        for (int d = 0; d < x.Length; d++)
            x[d] = T.CreateTruncating(pixels[d]) * scale + shift;
    }
}
