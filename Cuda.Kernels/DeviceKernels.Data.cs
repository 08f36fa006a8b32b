using System.Numerics;
using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    /// <summary>
    /// Gathers a batch from a uint8 data set on the device (gather_normalize):
    /// x[b, d] = (images[indices[b], d] / 255 - mean) / std, computed as byte * (1 / (255 std)) + (-mean / std) in
    /// float like the reference backend; y[b] = labels[indices[b]] (uint8 to int32). images is [count, features], labels
    /// [count], indices int32 [batch], x float [batch, features], y int32 [batch]. An index outside [0, count)
    /// gives a NaN row and label -1.
    /// </summary>
    public void GatherNormalize(IDeviceStream stream, DevicePtr images, DevicePtr labels, DevicePtr indices, DevicePtr x, DevicePtr y,
        int batch, int features, int count, double mean, double std)
    {
        CheckStream(stream);
        CheckCount(batch, nameof(batch));
        CheckCount(features, nameof(features));
        CheckCount(count, nameof(count));
        if (!(std > 0) || !double.IsFinite(std) || !double.IsFinite(mean))
            throw new ArgumentOutOfRangeException(nameof(std), $"Normalisation needs a finite mean and a finite std > 0 (got mean {mean}, std {std}).");
        if (batch == 0)
            return;
        CheckBuffer(images, nameof(images), alignment: 1);
        CheckBuffer(labels, nameof(labels), alignment: 1);
        CheckBuffer(indices, nameof(indices));
        CheckBuffer(x, nameof(x));
        CheckBuffer(y, nameof(y));
        float scale = (float)(1.0 / (255.0 * std)), shift = (float)(-mean / std);
        // One block per row: enough threads for one 4-byte word (or byte) each, in whole warps.
        int perRow = features % 4 == 0 ? features / 4 : features;
        int block = (int)Math.Clamp(BitOperations.RoundUpToPowerOf2((uint)Math.Max(perRow, 1)), 32, BlockSize);
        var config = new LaunchConfig(Math.Min(batch, maxBlocks), block);
        Launch(stream, KernelNames.GatherNormalize, config, Arguments().Add(images).Add(labels).Add(indices).Add(x).Add(y)
            .Add(batch).Add(features).Add(count).Add(scale).Add(shift));
    }

    /// <summary>
    /// Gathers rows of 4-byte words (float32 or int32 data alike) on the device (gather_rows): dst[b, :] =
    /// src[indices[b], :], src [count, width], indices int32 [batch], dst [batch, width]. An index outside [0, count)
    /// fills its row with <paramref name="missing"/>.
    /// </summary>
    public void GatherRows(IDeviceStream stream, DevicePtr src, DevicePtr indices, DevicePtr dst, int batch, int width, int count, uint missing)
    {
        CheckStream(stream);
        CheckCount(batch, nameof(batch));
        CheckCount(width, nameof(width));
        CheckCount(count, nameof(count));
        if (batch == 0 || width == 0)
            return;
        CheckBuffer(src, nameof(src));
        CheckBuffer(indices, nameof(indices));
        CheckBuffer(dst, nameof(dst));
        int block = (int)Math.Clamp(BitOperations.RoundUpToPowerOf2((uint)width), 32, BlockSize);
        Launch(stream, KernelNames.GatherRows, new LaunchConfig(Math.Min(batch, maxBlocks), block),
            Arguments().Add(src).Add(indices).Add(dst).Add(batch).Add(width).Add(count).Add(missing));
    }

    /// <summary>y[n] = value (fill).</summary>
    public void Fill(IDeviceStream stream, DevicePtr y, long n, float value)
    {
        if (CheckElementwise(stream, n, (y, nameof(y))))
            Launch(stream, KernelNames.Fill, ElementGrid(n), Arguments().Add(y).Add(n).Add(value));
    }

    /// <summary>y[n] += alpha * x (axpy); x and y must not overlap.</summary>
    public void Axpy(IDeviceStream stream, DevicePtr x, DevicePtr y, long n, float alpha)
    {
        if (CheckElementwise(stream, n, (x, nameof(x)), (y, nameof(y))))
            Launch(stream, KernelNames.Axpy, ElementGrid(n), Arguments().Add(x).Add(y).Add(n).Add(alpha));
    }

    /// <summary>y[n] = x, 4-byte words bit for bit, so int32 data copies too (copy); x and y must not overlap.</summary>
    public void Copy(IDeviceStream stream, DevicePtr x, DevicePtr y, long n)
    {
        if (CheckElementwise(stream, n, (x, nameof(x)), (y, nameof(y))))
            Launch(stream, KernelNames.Copy, ElementGrid(n), Arguments().Add(x).Add(y).Add(n));
    }
}
