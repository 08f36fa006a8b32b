namespace CudaNn.Kernels;

/// <summary>
/// Scalars of <see cref="DeviceKernels.AdamStep"/>, PyTorch's Adam (<see cref="Decoupled"/> false: g += wd p) or
/// AdamW (true: p *= 1 - lr wd); the step count t lives in device memory so a captured graph can replay it.
/// </summary>
public readonly record struct AdamHyperparameters(double LearningRate, double Beta1, double Beta2, double Eps, double WeightDecay, bool Decoupled)
{
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

/// <summary>Scalars of <see cref="DeviceKernels.SgdStep"/>, PyTorch's SGD; the first step is the one where the device counter is 1.</summary>
public readonly record struct SgdHyperparameters(double LearningRate, double Momentum, double Dampening, bool Nesterov, double WeightDecay)
{
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
