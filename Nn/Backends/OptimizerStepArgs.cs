namespace CudaNn.Backends;

/// <summary>
/// Scalars of one Adam/AdamW step, PyTorch's update (torch.optim.Adam, non-amsgrad):
/// g += wd*p (Adam) or p *= 1 - lr*wd (AdamW); m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
/// The step count t is not here: it lives in device memory beside the moments (see <see cref="Backend.AdamStep"/>),
/// so that a captured training step replays with the right t every time.
/// </summary>
public readonly record struct AdamStepArgs(
    double LearningRate, double Beta1, double Beta2, double Eps, double WeightDecay, bool DecoupledWeightDecay)
{
    /// <summary>1 - b1^t.</summary>
    public double BiasCorrection1(long step) => 1 - Math.Pow(Beta1, step);

    /// <summary>1 - b2^t.</summary>
    public double BiasCorrection2(long step) => 1 - Math.Pow(Beta2, step);
}

/// <summary>
/// Scalars of one SGD step, PyTorch's update (torch.optim.SGD): d = g + wd*p;
/// with momentum: buf = d on the first step, else buf = mu*buf + (1-dampening)*d; d = nesterov ? d + mu*buf : buf;
/// p -= lr * d.
/// </summary>
public readonly record struct SgdStepArgs(
    double LearningRate, double Momentum, double Dampening, bool Nesterov, double WeightDecay);
