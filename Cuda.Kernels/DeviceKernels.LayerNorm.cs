using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    /// <summary>
    /// nn.LayerNorm over the last dimension of x[rows, cols] (layer_norm_forward), one warp per row: y = (x - mean) *
    /// rstd * weight + bias with the biased variance, rstd = 1 / √(var + eps); <paramref name="weight"/> and
    /// <paramref name="bias"/> ([cols]) may be null. <paramref name="mean"/> and <paramref name="rstd"/> ([rows]) receive
    /// what <see cref="LayerNormBackward"/> needs. Each row's sums are folded in a fixed order: the same bits every run.
    /// </summary>
    public void LayerNormForward(IDeviceStream stream, DevicePtr x, DevicePtr weight, DevicePtr bias, DevicePtr y, DevicePtr mean,
        DevicePtr rstd, int rows, int cols, float eps)
    {
        CheckStream(stream);
        CheckCount(rows, nameof(rows));
        CheckCount(cols, nameof(cols));
        if (!(eps >= 0) || float.IsInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be finite and not negative.");
        if (rows == 0 || cols == 0)
            return;
        CheckBuffer(x, nameof(x));
        CheckOptionalBuffer(weight, nameof(weight));
        CheckOptionalBuffer(bias, nameof(bias));
        CheckBuffer(y, nameof(y));
        CheckBuffer(mean, nameof(mean));
        CheckBuffer(rstd, nameof(rstd));
        Launch(stream, KernelNames.LayerNormForward, RowWarps(rows), Arguments().Add(x).Add(weight).Add(bias).Add(y).Add(mean).Add(rstd)
            .Add(rows).Add(cols).Add(eps));
    }

    /// <summary>
    /// LayerNorm's backward for the input (layer_norm_backward): with g = dy * weight and xhat = (x - mean) * rstd,
    /// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)); <paramref name="dx"/> may be null. <paramref name="dyXhat"/>
    /// (nullable, [rows, cols]) receives dy * xhat, whose column sums (<see cref="BiasGrad"/>) are the weight's gradient.
    /// </summary>
    public void LayerNormBackward(IDeviceStream stream, DevicePtr x, DevicePtr weight, DevicePtr mean, DevicePtr rstd, DevicePtr dy,
        DevicePtr dx, DevicePtr dyXhat, int rows, int cols)
    {
        CheckStream(stream);
        CheckCount(rows, nameof(rows));
        CheckCount(cols, nameof(cols));
        if (rows == 0 || cols == 0 || dx.IsNull && dyXhat.IsNull)
            return;
        CheckBuffer(x, nameof(x));
        CheckOptionalBuffer(weight, nameof(weight));
        CheckBuffer(mean, nameof(mean));
        CheckBuffer(rstd, nameof(rstd));
        CheckBuffer(dy, nameof(dy));
        CheckOptionalBuffer(dx, nameof(dx));
        CheckOptionalBuffer(dyXhat, nameof(dyXhat));
        Launch(stream, KernelNames.LayerNormBackward, RowWarps(rows), Arguments().Add(x).Add(weight).Add(mean).Add(rstd).Add(dy).Add(dx)
            .Add(dyXhat).Add(rows).Add(cols));
    }

    /// <summary>One warp per row, <see cref="BlockSize"/> / 32 rows per block, capped at a full wave (the kernels stride over the rest).</summary>
    private LaunchConfig RowWarps(int rows)
    {
        const int rowsPerBlock = BlockSize / 32;
        return new LaunchConfig((int)Math.Clamp((rows + rowsPerBlock - 1L) / rowsPerBlock, 1, maxBlocks), BlockSize);
    }
}
