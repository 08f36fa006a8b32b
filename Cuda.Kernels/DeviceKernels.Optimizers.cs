using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    /// <summary>
    /// One Adam/AdamW step over flat param, grad, m, v [n] (adam_step): t = step[0] + 1, stored back into step[0]
    /// (int32, device memory) by the launch itself; g += wd p (Adam) or p *= 1 - lr wd (AdamW); m = b1 m + (1 - b1) g;
    /// v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). The four buffers must not
    /// overlap. <paramref name="hyperparameters"/> points at five float64 in device memory laid out as
    /// <see cref="AdamHyperparameters.DeviceValues"/>; the kernel reads them at every launch (and replay).
    /// <paramref name="blocksDone"/> is one int32 of scratch that must hold 0 and is left at 0 (the grid's blocks count
    /// themselves there so the last one can store the step).
    /// With <paramref name="maxV"/> (amsgrad; default null: off), maxV = max(maxV, v) after v's update, and maxV takes v's
    /// place in the denominator (PyTorch's max_exp_avg_sq).
    /// </summary>
    public void AdamStep(IDeviceStream stream, DevicePtr param, DevicePtr grad, DevicePtr m, DevicePtr v, long n,
        DevicePtr hyperparameters, bool decoupled, DevicePtr step, DevicePtr blocksDone, DevicePtr maxV = default)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        CheckBuffer(hyperparameters, nameof(hyperparameters));
        CheckBuffer(step, nameof(step));
        CheckBuffer(blocksDone, nameof(blocksDone));
        if (n > 0)
        {
            CheckBuffer(param, nameof(param));
            CheckBuffer(grad, nameof(grad));
            CheckBuffer(m, nameof(m));
            CheckBuffer(v, nameof(v));
            CheckOptionalBuffer(maxV, nameof(maxV));
        }
        Launch(stream, KernelNames.AdamStep, StepGrid(n), Arguments().Add(param).Add(grad).Add(m).Add(v).Add(n)
            .Add(hyperparameters).Add(decoupled ? 1 : 0).Add(step).Add(blocksDone).Add(maxV));
    }

    /// <summary>
    /// One SGD step over flat param, grad [n] and momentumBuffer [n] (null without momentum) (sgd_step):
    /// d = g + wd p; buf = d when step[0] == 1, else mu buf + (1 - dampening) d; d = nesterov ? d + mu buf : buf;
    /// p -= lr d. The buffers must not overlap. <paramref name="hyperparameters"/> points at five float64 in device
    /// memory laid out as <see cref="SgdHyperparameters.DeviceValues"/>; with a nonzero momentum there, a momentum
    /// buffer is required (the caller knows the momentum; the kernel only reads it). The step is counted as by
    /// <see cref="AdamStep"/>, with the same scratch.
    /// </summary>
    public void SgdStep(IDeviceStream stream, DevicePtr param, DevicePtr grad, DevicePtr momentumBuffer, long n,
        DevicePtr hyperparameters, DevicePtr step, DevicePtr blocksDone)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        CheckBuffer(hyperparameters, nameof(hyperparameters));
        CheckBuffer(step, nameof(step));
        CheckBuffer(blocksDone, nameof(blocksDone));
        if (n > 0)
        {
            CheckBuffer(param, nameof(param));
            CheckBuffer(grad, nameof(grad));
            CheckOptionalBuffer(momentumBuffer, nameof(momentumBuffer));
        }
        Launch(stream, KernelNames.SgdStep, StepGrid(n), Arguments().Add(param).Add(grad).Add(momentumBuffer).Add(n)
            .Add(hyperparameters).Add(step).Add(blocksDone));
    }

    /// <summary>The element grid, and at least one block even for no elements: the launch still counts the step.</summary>
    private LaunchConfig StepGrid(long n) => n == 0 ? new LaunchConfig(1, BlockSize) : ElementGrid(n);
}
