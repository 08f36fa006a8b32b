namespace CudaNn.Kernels;

/// <summary>
/// The scalars of one Adam or AdamW step (<see cref="Decoupled"/> false: g += wd p, PyTorch's Adam; true: p *= 1 - lr wd,
/// its AdamW), and the one layout adam_step reads them in. Then, as PyTorch orders it (non-amsgrad):
/// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²; p -= lr / (1 - b1^t) · m / (√v / √(1 - b2^t) + eps).
/// Neither these nor the step count t are passed to the kernel by value: they live in device memory laid out as
/// <see cref="DeviceValues"/>, so a captured training step replays with the current t and the rate last written.
/// The public <c>AdamOptions</c> validates them, as PyTorch does.
/// </summary>
internal readonly record struct AdamHyperparameters(double LearningRate, double Beta1, double Beta2, double Eps, double WeightDecay, bool Decoupled)
{
    /// <summary>How many values the device buffer holds.</summary>
    public const int Count = 5;

    /// <summary>adam_step's float64 buffer: lr, beta1, beta2, eps, weight_decay.</summary>
    public double[] DeviceValues() => [LearningRate, Beta1, Beta2, Eps, WeightDecay];

    /// <summary>The scalars back from a buffer laid out as <see cref="DeviceValues"/>.</summary>
    public static AdamHyperparameters From(ReadOnlySpan<double> values, bool decoupled) =>
        new(values[0], values[1], values[2], values[3], values[4], decoupled);

    /// <summary>1 - b1^t.</summary>
    public double BiasCorrection1(long step) => 1 - Math.Pow(Beta1, step);

    /// <summary>1 - b2^t.</summary>
    public double BiasCorrection2(long step) => 1 - Math.Pow(Beta2, step);
}

/// <summary>
/// The scalars of one SGD step, PyTorch's update, and the one layout sgd_step reads them in: d = g + wd p; with momentum,
/// buf = d on the first step (the one where the device counter is 1), else mu buf + (1 - dampening) d, and
/// d = nesterov ? d + mu buf : buf; p -= lr d. Held in device memory like <see cref="AdamHyperparameters"/>.
/// </summary>
internal readonly record struct SgdHyperparameters(double LearningRate, double Momentum, double Dampening, bool Nesterov, double WeightDecay)
{
    /// <summary>How many values the device buffer holds.</summary>
    public const int Count = 5;

    /// <summary>sgd_step's float64 buffer: lr, momentum, dampening, nesterov (0 or 1), weight_decay.</summary>
    public double[] DeviceValues() => [LearningRate, Momentum, Dampening, Nesterov ? 1 : 0, WeightDecay];

    /// <summary>The scalars back from a buffer laid out as <see cref="DeviceValues"/>.</summary>
    public static SgdHyperparameters From(ReadOnlySpan<double> values) => new(values[0], values[1], values[2], values[3] != 0, values[4]);
}
