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
    /// </summary>
    public void AdamStep(IDeviceStream stream, DevicePtr param, DevicePtr grad, DevicePtr m, DevicePtr v, long n,
        AdamHyperparameters hyperparameters, DevicePtr step)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        hyperparameters.Validate();
        CheckBuffer(step, nameof(step));
        if (n == 0)
            return;
        CheckBuffer(param, nameof(param));
        CheckBuffer(grad, nameof(grad));
        CheckBuffer(m, nameof(m));
        CheckBuffer(v, nameof(v));
        var h = hyperparameters;
        Launch(stream, KernelNames.AdamStep, ElementGrid(n), Arguments().Add(param).Add(grad).Add(m).Add(v).Add(n)
            .Add(h.LearningRate).Add(h.Beta1).Add(h.Beta2).Add(h.Eps).Add(h.WeightDecay).Add(h.Decoupled ? 1 : 0).Add(step));
    }

    /// <summary>
    /// One SGD step over flat param, grad [n] and momentumBuffer [n] (null without momentum) (sgd_step):
    /// d = g + wd p; buf = d when step[0] == 1, else mu buf + (1 - dampening) d; d = nesterov ? d + mu buf : buf;
    /// p -= lr d. The buffers must not overlap.
    /// </summary>
    public void SgdStep(IDeviceStream stream, DevicePtr param, DevicePtr grad, DevicePtr momentumBuffer, long n,
        SgdHyperparameters hyperparameters, DevicePtr step)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        hyperparameters.Validate();
        CheckBuffer(step, nameof(step));
        if (hyperparameters.Momentum != 0 && momentumBuffer.IsNull)
            throw new ArgumentException($"SGD with momentum {hyperparameters.Momentum} needs a momentum buffer.", nameof(momentumBuffer));
        if (n == 0)
            return;
        CheckBuffer(param, nameof(param));
        CheckBuffer(grad, nameof(grad));
        CheckOptionalBuffer(momentumBuffer, nameof(momentumBuffer));
        var h = hyperparameters;
        Launch(stream, KernelNames.SgdStep, ElementGrid(n), Arguments().Add(param).Add(grad).Add(momentumBuffer).Add(n)
            .Add(h.LearningRate).Add(h.Momentum).Add(h.Dampening).Add(h.Nesterov ? 1 : 0).Add(h.WeightDecay).Add(step));
    }
}
