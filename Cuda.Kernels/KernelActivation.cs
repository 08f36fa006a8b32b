namespace CudaNn.Kernels;

/// <summary>
/// An activation as kernels.cu's <c>with_activation</c> takes it: its number and its one parameter, where it takes one
/// (0 otherwise). The numbers are declared once, by CudaNn's <c>Activation</c>.
/// </summary>
internal readonly record struct KernelActivation(int Number, float Parameter = 0)
{
    /// <summary>y = x, number 0.</summary>
    public static KernelActivation Identity => default;

    /// <summary>
    /// Identity, ReLU, sigmoid and tanh (numbers 0 to 3), whose slope kernels.cu's <c>slope_from_output</c> computes from
    /// the output y: the only ones bias_grad and the fused MLP kernels, which keep y alone, apply.
    /// </summary>
    public bool SlopeFromOutput => Number is >= 0 and <= 3;
}
