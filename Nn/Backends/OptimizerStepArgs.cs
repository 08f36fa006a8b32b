namespace CudaNn.Backends;

/// <summary>
/// Scalars of one Adam/AdamW step, PyTorch's update (torch.optim.Adam, non-amsgrad):
/// g += wd*p (Adam) or p *= 1 - lr*wd (AdamW); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// Neither these scalars nor the step count t are passed by value to the backend: they live in memory on the
/// parameters' device (see <see cref="Backend.AdamStep"/>), so a captured training step replays with the current
/// t and the learning rate last set, every time.
/// </summary>
internal readonly record struct AdamStepArgs(
    double LearningRate, double Beta1, double Beta2, double Eps, double WeightDecay, bool DecoupledWeightDecay)
{
    /// <summary>How many values the hyperparameter buffer holds.</summary>
    public const int Count = 5;

    /// <summary>The hyperparameter buffer's values: lr, beta1, beta2, eps, weight_decay (adam_step's order in kernels.cu).</summary>
    public double[] ToArray() => [LearningRate, Beta1, Beta2, Eps, WeightDecay];

    /// <summary>The scalars back from a hyperparameter buffer laid out as <see cref="ToArray"/>.</summary>
    public static AdamStepArgs From(ReadOnlySpan<double> values, bool decoupled) =>
        new(values[0], values[1], values[2], values[3], values[4], decoupled);

    /// <summary>1 - b1^t.</summary>
    public double BiasCorrection1(long step) => 1 - Math.Pow(Beta1, step);

    /// <summary>1 - b2^t.</summary>
    public double BiasCorrection2(long step) => 1 - Math.Pow(Beta2, step);
}

/// <summary>
/// Scalars of one SGD step, PyTorch's update (torch.optim.SGD): d = g + wd*p;
/// with momentum: buf = d on the first step, else buf = mu*buf + (1-dampening)*d; d = nesterov ? d + mu*buf : buf;
/// p -= lr * d. Held in device memory like <see cref="AdamStepArgs"/>.
/// </summary>
internal readonly record struct SgdStepArgs(
    double LearningRate, double Momentum, double Dampening, bool Nesterov, double WeightDecay)
{
    /// <summary>How many values the hyperparameter buffer holds.</summary>
    public const int Count = 5;

    /// <summary>The hyperparameter buffer's values: lr, momentum, dampening, nesterov (0 or 1), weight_decay (sgd_step's order).</summary>
    public double[] ToArray() => [LearningRate, Momentum, Dampening, Nesterov ? 1 : 0, WeightDecay];

    /// <summary>The scalars back from a hyperparameter buffer laid out as <see cref="ToArray"/>.</summary>
    public static SgdStepArgs From(ReadOnlySpan<double> values) => new(values[0], values[1], values[2], values[3] != 0, values[4]);
}
