using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>
/// torch.nn.utils.clip_grad_norm_ and clip_grad_value_: bound the gradients between Backward and the optimizer's
/// Step, on the parameters' device, without a host round trip:
/// <code>
/// model.Backward(lossFn.Backward());
/// using var norm = GradClipping.ClipGradNorm(model.Parameters(), maxNorm: 1.0);
/// opt.Step();
/// </code>
/// The norm is summed in float64 in an order fixed by the parameter sizes, so it is the same bits on every run.
/// <see cref="Training.Trainer.ClipGradNorm"/> does the same inside each (graph-captured) training step.
/// </summary>
public static class GradClipping
{
    /// <summary>
    /// Scales every gradient by min(maxNorm / (total + 1e-6), 1), where total is the 2-norm of all the gradients
    /// together, and returns total (before clipping) as a new one-element tensor on their device, which the caller
    /// disposes. maxNorm = infinity measures the norm without clipping.
    /// </summary>
    public static Tensor ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var grads = Grads(parameters, nameof(ClipGradNorm));
        if (grads.Count == 0) return Tensor.Zeros([1]);
        var totalNorm = Tensor.Zeros([1], grads[0].DType, grads[0].Device);
        try
        {
            grads[0].Backend.ClipGradNorm(grads, maxNorm, totalNorm);
            return totalNorm;
        }
        catch
        {
            totalNorm.Dispose();
            throw;
        }
    }

    /// <summary>As <see cref="ClipGradNorm(IEnumerable{Parameter}, double)"/>, writing the norm into <paramref name="totalNorm"/> (one element) instead.</summary>
    public static void ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm, Tensor totalNorm)
    {
        ArgumentNullException.ThrowIfNull(totalNorm);
        var grads = Grads(parameters, nameof(ClipGradNorm));
        totalNorm.Backend.ClipGradNorm(grads, maxNorm, totalNorm);
    }

    /// <summary>Clamps every gradient element to [-clipValue, clipValue]; a NaN stays NaN.</summary>
    public static void ClipGradValue(IEnumerable<Parameter> parameters, double clipValue)
    {
        if (!(clipValue >= 0))
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "ClipGradValue: the bound must be 0 or above");
        foreach (var g in Grads(parameters, nameof(ClipGradValue))) g.Backend.Clamp(g, -clipValue, clipValue);
    }

    private static List<Tensor> Grads(IEnumerable<Parameter> parameters, string op)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var grads = parameters.Select(p => p.ZeroedGrad).ToList();
        if (grads.Count > 0 && grads.Any(g => g.Device != grads[0].Device || g.DType != grads[0].DType))
            throw new ArgumentException($"{op}: the parameters' gradients are on several devices or of several dtypes " +
                $"({string.Join(", ", grads.Select(g => g.ToString()).Distinct())}); clip each group on its own");
        return grads;
    }
}
