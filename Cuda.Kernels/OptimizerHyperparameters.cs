namespace CudaNn.Kernels;

/// <summary>
/// Scalars of <see cref="DeviceKernels.AdamStep"/>, PyTorch's Adam (<see cref="Decoupled"/> false: g += wd p) or
/// AdamW (true: p *= 1 - lr wd). The kernel reads them, like the step count t, from device memory (the layout of
/// <see cref="DeviceValues"/>), so a captured graph replays with whatever the host last wrote there.
/// </summary>
internal readonly record struct AdamHyperparameters(double LearningRate, double Beta1, double Beta2, double Eps, double WeightDecay, bool Decoupled)
{
    /// <summary>adam_step's float64 hyperparameter buffer: lr, beta1, beta2, eps, weight_decay.</summary>
    public double[] DeviceValues() => [LearningRate, Beta1, Beta2, Eps, WeightDecay];

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first value PyTorch would reject.</summary>
    public void Validate()
    {
        OptimizerChecks.NonNegative(LearningRate, nameof(LearningRate));
        OptimizerChecks.InUnitInterval(Beta1, nameof(Beta1));
        OptimizerChecks.InUnitInterval(Beta2, nameof(Beta2));
        OptimizerChecks.NonNegative(Eps, nameof(Eps));
        OptimizerChecks.NonNegative(WeightDecay, nameof(WeightDecay));
    }
}

/// <summary>
/// Scalars of <see cref="DeviceKernels.SgdStep"/>, PyTorch's SGD, read by the kernel from device memory as Adam's are;
/// the first step is the one where the device counter is 1.
/// </summary>
internal readonly record struct SgdHyperparameters(double LearningRate, double Momentum, double Dampening, bool Nesterov, double WeightDecay)
{
    /// <summary>sgd_step's float64 hyperparameter buffer: lr, momentum, dampening, nesterov (0 or 1), weight_decay.</summary>
    public double[] DeviceValues() => [LearningRate, Momentum, Dampening, Nesterov ? 1 : 0, WeightDecay];

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first value PyTorch would reject.</summary>
    public void Validate()
    {
        OptimizerChecks.NonNegative(LearningRate, nameof(LearningRate));
        OptimizerChecks.NonNegative(Momentum, nameof(Momentum));
        OptimizerChecks.NonNegative(WeightDecay, nameof(WeightDecay));
        if (!double.IsFinite(Dampening))
            throw new ArgumentOutOfRangeException(nameof(Dampening), Dampening, "Dampening must be finite.");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentOutOfRangeException(nameof(Nesterov), Nesterov, $"Nesterov momentum needs momentum > 0 and dampening 0 (got {Momentum}, {Dampening}).");
    }
}

internal static class OptimizerChecks
{
    public static void NonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and not negative.");
    }

    public static void InUnitInterval(double value, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1).");
    }
}
