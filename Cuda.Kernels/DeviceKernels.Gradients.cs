using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    /// <summary>Elements per chunk of <see cref="SumSquares"/> (NORM_CHUNK in kernels.cu): each chunk's sum is one float64 partial.</summary>
    public const int NormChunk = BlockSize * 64;

    /// <summary>The partial sums <see cref="SumSquares"/> writes for <paramref name="n"/> elements.</summary>
    public static long SumSquaresPartials(long n)
    {
        CheckCount(n, nameof(n));
        return (n + NormChunk - 1) / NormChunk;
    }

    /// <summary>
    /// partials[c] = Σ x² over chunk c of x[n] (<see cref="NormChunk"/> elements each), in float64 (sum_squares);
    /// writes <see cref="SumSquaresPartials"/> doubles. The chunks depend on n alone, so the sums do not depend on the GPU.
    /// </summary>
    public void SumSquares(IDeviceStream stream, DevicePtr x, long n, DevicePtr partials)
    {
        CheckStream(stream);
        long chunks = SumSquaresPartials(n);
        if (chunks == 0) return;
        CheckBuffer(x, nameof(x));
        CheckBuffer(partials, nameof(partials), sizeof(double));
        var config = new LaunchConfig((int)Math.Min(chunks, maxBlocks), BlockSize);
        Launch(stream, KernelNames.SumSquares, config, Arguments().Add(x).Add(n).Add(partials));
    }

    /// <summary>
    /// norm[0] = √(Σ partials[count]) as float; coef[0] = min(maxNorm / (norm + 1e-6), 1) as float64, NaN when the norm
    /// is NaN (clip_coefficient, one block; PyTorch's clip_grad_norm_ coefficient).
    /// </summary>
    public void ClipCoefficient(IDeviceStream stream, DevicePtr partials, int count, double maxNorm, DevicePtr norm, DevicePtr coef)
    {
        CheckStream(stream);
        CheckCount(count, nameof(count));
        if (count > 0) CheckBuffer(partials, nameof(partials), sizeof(double));
        CheckBuffer(norm, nameof(norm));
        CheckBuffer(coef, nameof(coef), sizeof(double));
        Launch(stream, KernelNames.ClipCoefficient, new LaunchConfig(1, BlockSize),
            Arguments().Add(partials).Add(count).Add(maxNorm).Add(norm).Add(coef));
    }

    /// <summary>x[n] *= (float)coef[0], the scale read from device memory when the kernel runs (scale_by).</summary>
    public void ScaleBy(IDeviceStream stream, DevicePtr x, long n, DevicePtr coef)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        CheckBuffer(coef, nameof(coef), sizeof(double));
        if (n == 0) return;
        CheckBuffer(x, nameof(x));
        Launch(stream, KernelNames.ScaleBy, ElementGrid(n), Arguments().Add(x).Add(n).Add(coef));
    }

    /// <summary>x[n] = clamp(x, low, high), a NaN staying NaN (clamp; PyTorch's clip_grad_value_).</summary>
    public void Clamp(IDeviceStream stream, DevicePtr x, long n, float low, float high)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        if (n == 0) return;
        CheckBuffer(x, nameof(x));
        Launch(stream, KernelNames.Clamp, ElementGrid(n), Arguments().Add(x).Add(n).Add(low).Add(high));
    }

    /// <summary>
    /// Writes the ReLU mask of y[rows, features] as cuBLASLt's ReLU-aux epilogue lays it out: bit f + r·maskLd set where
    /// y &gt; 0, words of 32 bits (relu_mask_write), for a GEMM cuBLASLt has no epilogue kernel for.
    /// </summary>
    public void ReluMaskWrite(IDeviceStream stream, DevicePtr y, DevicePtr mask, int rows, int features, int maskLd)
    {
        CheckStream(stream);
        CheckMask(rows, features, maskLd);
        if (rows == 0) return;
        CheckBuffer(y, nameof(y));
        CheckBuffer(mask, nameof(mask), sizeof(uint));
        Launch(stream, KernelNames.ReluMaskWrite, GridFor((long)rows * (maskLd / 32)), Arguments().Add(y).Add(mask).Add(rows).Add(features).Add(maskLd));
    }

    /// <summary>dz[rows, features] = 0 where the ReLU mask's bit is clear (relu_mask_apply): ReLU's backward from its mask.</summary>
    public void ReluMaskApply(IDeviceStream stream, DevicePtr dz, DevicePtr mask, int rows, int features, int maskLd)
    {
        CheckStream(stream);
        CheckMask(rows, features, maskLd);
        if (rows == 0 || features == 0) return;
        CheckBuffer(dz, nameof(dz));
        CheckBuffer(mask, nameof(mask), sizeof(uint));
        Launch(stream, KernelNames.ReluMaskApply, GridFor((long)rows * features), Arguments().Add(dz).Add(mask).Add(rows).Add(features).Add(maskLd));
    }

    private static void CheckMask(int rows, int features, int maskLd)
    {
        CheckCount(rows, nameof(rows));
        CheckCount(features, nameof(features));
        if (maskLd < features || maskLd % 128 != 0)
            throw new ArgumentOutOfRangeException(nameof(maskLd), maskLd, $"a ReLU mask's leading dimension is a multiple of 128 bits, at least the {features} features");
    }
}
