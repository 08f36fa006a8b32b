using CudaNn.Backends.Reference;
using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// layer_norm_forward and layer_norm_backward against <see cref="ReferenceBackend{T}"/> (float), with and without weight and
/// bias, over widths below, at and around a warp's 32 lanes and far beyond, every output poisoned first.
/// </summary>
/// <remarks>
/// The kernel sums each row as 32 lane sums folded by a butterfly, the CPU in one running sum: the same terms in
/// another order, so results agree to float32 rounding of sums of up to 1,000 terms: 1e-5 relative to the largest value
/// of each output, or for the mean (near 0 for data centred on 0) to the largest input.
/// </remarks>
[TestFixture("emulator")]
[TestFixture("gpu", Category = "Gpu")]
public class LayerNormKernelTests(string deviceKind) : KernelDeviceFixture(deviceKind)
{
    [TestCase(1, 1, true)]
    [TestCase(3, 31, false)]
    [TestCase(5, 32, true)]
    [TestCase(9, 33, true)]
    [TestCase(17, 1000, false)]
    [TestCase(300, 12, true)]
    public void ForwardAndBackward_MatchTheCpuReference(int rows, int cols, bool affine)
    {
        Random random = Seeded(7400 + rows * 1000 + cols);
        int n = rows * cols;
        float[] x = Uniform(random, n, -3, 3), dy = Uniform(random, n);
        float[] weight = Uniform(random, cols, 0.5f, 1.5f), bias = Uniform(random, cols);
        const float eps = 1e-5f;

        float[][] outputs = Run(b =>
        {
            DevicePtr xs = b.Floats(x), dys = b.Floats(dy), w = affine ? b.Floats(weight) : DevicePtr.Null, bs = affine ? b.Floats(bias) : DevicePtr.Null;
            DevicePtr y = b.Poisoned(n), mean = b.Poisoned(rows), rstd = b.Poisoned(rows), dx = b.Poisoned(n), dyXhat = b.Poisoned(n);
            Kernels.LayerNormForward(Stream, xs, w, bs, y, mean, rstd, rows, cols, eps);
            Kernels.LayerNormBackward(Stream, xs, w, mean, rstd, dys, dx, dyXhat, rows, cols);
            return [b.Read(y, n), b.Read(mean, rows), b.Read(rstd, rows), b.Read(dx, n), b.Read(dyXhat, n)];
        });

        var cpu = ReferenceBackend<float>.Instance;
        using var hx = Tensor.FromArray(x, [rows, cols]);
        using var hdy = Tensor.FromArray(dy, [rows, cols]);
        using var hw = Tensor.FromArray(weight, [cols]);
        using var hb = Tensor.FromArray(bias, [cols]);
        using var hy = Tensor.Zeros([rows, cols]);
        using var hmean = Tensor.Zeros([rows]);
        using var hrstd = Tensor.Zeros([rows]);
        using var hdx = Tensor.Zeros([rows, cols]);
        using var ones = Tensor.FromArray(Enumerable.Repeat(1f, cols).ToArray(), [cols]);
        using var dweight = Tensor.Zeros([cols]);
        cpu.LayerNormForward(hx, affine ? hw : null, affine ? hb : null, eps, hy, hmean, hrstd);
        cpu.LayerNormBackward(hx, affine ? hw : null, hmean, hrstd, hdy, hdx, dweight, null);

        Check(hy.ToArray<float>(), outputs[0], "y");
        // The mean of data centred near 0 is small beside the data: its rounding is measured against the data's scale.
        Check(hmean.ToArray<float>(), outputs[1], "mean", x.Max(Math.Abs));
        Check(hrstd.ToArray<float>(), outputs[2], "rstd");
        Check(hdx.ToArray<float>(), outputs[3], "dx");
        // The column sums of dy * xhat are the weight's gradient.
        float[] columnSums = Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Sum(r => outputs[4][r * cols + c])).ToArray();
        Check(dweight.ToArray<float>(), columnSums, "dy * xhat, summed over the rows");
    }

    private static void Check(float[] expected, float[] actual, string what, double? scaleOf = null)
    {
        double scale = scaleOf ?? Math.Max(expected.Max(v => Math.Abs((double)v)), 1e-30);
        Close.Assert(expected, actual, 1e-5 * scale, 0, what);
    }
}
