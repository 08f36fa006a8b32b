using CudaNn.Cuda;

namespace CudaNn.Kernels;

public sealed partial class DeviceKernels
{
    /// <summary>
    /// step[0] += 1 on the device (optimizer_step_increment): launch it before <see cref="AdamStep"/> or
    /// <see cref="SgdStep"/>, so each replay of a captured training step advances the count the step reads.
    /// </summary>
    public void OptimizerStepIncrement(IDeviceStream stream, DevicePtr step)
    {
        CheckStream(stream);
        CheckBuffer(step, nameof(step));
        Launch(stream, KernelNames.OptimizerStepIncrement, new LaunchConfig(1, 1), Arguments().Add(step));
    }

    /// <summary>
    /// One Adam/AdamW step over flat param, grad, m, v [n] (adam_step), t = step[0] (int32, device memory, &gt;= 1):
    /// g += wd p (Adam) or p *= 1 - lr wd (AdamW); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    /// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). The four buffers must not overlap.
    /// <paramref name="hyperparameters"/> points at five float64 in device memory laid out as
    /// <see cref="AdamHyperparameters.DeviceValues"/>; the kernel reads them at every launch (and replay).
    /// </summary>
    public void AdamStep(IDeviceStream stream, DevicePtr param, DevicePtr grad, DevicePtr m, DevicePtr v, long n,
        DevicePtr hyperparameters, bool decoupled, DevicePtr step)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        CheckBuffer(hyperparameters, nameof(hyperparameters));
        CheckBuffer(step, nameof(step));
        if (n == 0)
            return;
        CheckBuffer(param, nameof(param));
        CheckBuffer(grad, nameof(grad));
        CheckBuffer(m, nameof(m));
        CheckBuffer(v, nameof(v));
        Launch(stream, KernelNames.AdamStep, ElementGrid(n), Arguments().Add(param).Add(grad).Add(m).Add(v).Add(n)
            .Add(hyperparameters).Add(decoupled ? 1 : 0).Add(step));
    }

    /// <summary>
    /// One SGD step over flat param, grad [n] and momentumBuffer [n] (null without momentum) (sgd_step):
    /// d = g + wd p; buf = d when step[0] == 1, else mu buf + (1 - dampening) d; d = nesterov ? d + mu buf : buf;
    /// p -= lr d. The buffers must not overlap. <paramref name="hyperparameters"/> points at five float64 in device
    /// memory laid out as <see cref="SgdHyperparameters.DeviceValues"/>; with a nonzero momentum there, a momentum
    /// buffer is required (the caller knows the momentum; the kernel only reads it).
    /// </summary>
    public void SgdStep(IDeviceStream stream, DevicePtr param, DevicePtr grad, DevicePtr momentumBuffer, long n,
        DevicePtr hyperparameters, DevicePtr step)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        CheckBuffer(hyperparameters, nameof(hyperparameters));
        CheckBuffer(step, nameof(step));
        if (n == 0)
            return;
        CheckBuffer(param, nameof(param));
        CheckBuffer(grad, nameof(grad));
        CheckOptionalBuffer(momentumBuffer, nameof(momentumBuffer));
        Launch(stream, KernelNames.SgdStep, ElementGrid(n), Arguments().Add(param).Add(grad).Add(momentumBuffer).Add(n)
            .Add(hyperparameters).Add(step));
    }
}
