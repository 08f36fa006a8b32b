namespace CudaNn.Backends;

/// <summary>
/// How a run of Linear layers and their activations (an MLP) executes its forward and backward. Every plan computes
/// what the layers define, up to the rounding of the sums; they differ in how many operations a step takes. A plan that
/// does not apply to a model, a device or a precision is not used: that run takes <see cref="Layers"/>.
/// </summary>
public enum StepPlan
{
    /// <summary>Each layer as a GEMM (cuBLAS on a GPU) and elementwise kernels. Every device, every precision: the default.</summary>
    Layers,

    /// <summary>
    /// Each layer as one cuBLASLt GEMM whose epilogue adds the bias and applies ReLU (keeping a 1-bit mask); in the
    /// backward, epilogues apply ReLU's derivative and sum the bias gradients where zero_grad cleared them. A GPU or
    /// the emulator.
    /// </summary>
    Epilogues,

    /// <summary>
    /// The whole MLP as three fused kernels a step (mlp_forward, mlp_backward_data, mlp_weight_grads). A GPU or the
    /// emulator, FP32 only, at most 4 layers of at most 128 outputs.
    /// </summary>
    Fused,
}

public static class StepPlanExtensions
{
    /// <summary>
    /// Why <paramref name="plan"/> cannot run an MLP of <paramref name="widths"/> (its input features, then each layer's
    /// outputs) on <paramref name="device"/> with its present settings (a GPU's <see cref="Cuda.CudaDevice.Precision"/>),
    /// or null when it can. Such a run takes <see cref="StepPlan.Layers"/>.
    /// </summary>
    public static string? WhyNotFor(this StepPlan plan, Device device, IReadOnlyList<int> widths)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(widths);
        return Plans.MlpPlan.Of(plan).WhyNot(device, [.. widths]);
    }
}
