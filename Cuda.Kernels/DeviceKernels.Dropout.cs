using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    /// <summary>
    /// Dropout in training (dropout_forward): noise[i] = <paramref name="scale"/> when element i is kept, else 0, and
    /// y = x * noise. Element i keeps when word i % 4 of Philox4x32-10(counter {i / 4 as 64 bits, call as 64 bits}, key
    /// seed) is below <paramref name="keepBelow"/> (round((1 - p) 2^32), so 2^32 keeps everything). <paramref name="rng"/>
    /// points at four uint32 in device memory, {seed lo, seed hi, call lo, call hi}; the launch itself advances the call
    /// by one, so a replayed graph draws a fresh mask each time. <paramref name="blocksDone"/> is one int32 of scratch
    /// that must hold 0 and is left at 0. x, y and noise must not overlap. With n = 0 nothing is launched and the call
    /// stays where it was.
    /// </summary>
    public void DropoutForward(IDeviceStream stream, DevicePtr x, DevicePtr y, DevicePtr noise, long n, ulong keepBelow, float scale,
        DevicePtr rng, DevicePtr blocksDone)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        if (keepBelow > 1UL << 32)
            throw new ArgumentOutOfRangeException(nameof(keepBelow), keepBelow, "keepBelow is at most 2^32 (keep every element).");
        CheckBuffer(rng, nameof(rng));
        CheckBuffer(blocksDone, nameof(blocksDone));
        if (n == 0)
            return;
        CheckBuffer(x, nameof(x));
        CheckBuffer(y, nameof(y));
        CheckBuffer(noise, nameof(noise));
        Launch(stream, KernelNames.DropoutForward, ElementGrid(n), Arguments().Add(x).Add(y).Add(noise).Add(n)
            .Add(keepBelow).Add(scale).Add(rng).Add(blocksDone));
    }

    /// <summary>z[n] = x * y elementwise (multiply); z may be x or y.</summary>
    public void Multiply(IDeviceStream stream, DevicePtr x, DevicePtr y, DevicePtr z, long n)
    {
        if (CheckElementwise(stream, n, (x, nameof(x)), (y, nameof(y)), (z, nameof(z))))
            Launch(stream, KernelNames.Multiply, ElementGrid(n), Arguments().Add(x).Add(y).Add(z).Add(n));
    }
}
