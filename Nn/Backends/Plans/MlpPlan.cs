using CudaNn.Backends.Cuda;

namespace CudaNn.Backends.Plans;

/// <summary>
/// One way to run an MLP's layers (<see cref="StepPlan"/>), with one contract: <see cref="Forward"/> writes every
/// layer's Output; <see cref="Backward"/>, from dLoss/d(the last Output), writes every layer's PreActivationGrad, its
/// weight and bias gradients (written where <see cref="MlpLayer.OverwriteGrads"/>, else added) and the input's gradient
/// when asked. <see cref="LayersPlan"/> on the reference backend is what every plan is checked against.
/// </summary>
internal abstract class MlpPlan
{
    public abstract StepPlan Kind { get; }

    /// <summary>
    /// Why this plan cannot run an MLP of <paramref name="widths"/> (its input features, then each layer's outputs) on
    /// <paramref name="device"/> as it is set now, or null when it can.
    /// </summary>
    public abstract string? WhyNot(Device device, ReadOnlySpan<int> widths);

    /// <summary>
    /// The int32 tensor shape in which the forward keeps where a ReLU layer of <paramref name="features"/> outputs was
    /// positive (<see cref="MlpLayer.ReluMask"/>), for the backward; null when the plan reads the layer's output instead.
    /// </summary>
    public virtual int[]? ReluMaskShape(int rows, int features) => null;

    public abstract void Forward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers);

    public abstract void Backward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers, Tensor gradOutput, Tensor? gradInput);

    public static MlpPlan Of(StepPlan kind) => kind switch
    {
        StepPlan.Layers => LayersPlan.Instance,
        StepPlan.Epilogues => EpiloguesPlan.Instance,
        StepPlan.Fused => FusedPlan.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown plan"),
    };

    /// <summary>
    /// The one place a plan is chosen: the device's (<see cref="CudaDevice.Plan"/>; <see cref="StepPlan.Layers"/> on the
    /// CPU) where it applies to these layers, else <see cref="LayersPlan"/>.
    /// </summary>
    public static MlpPlan For(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers)
    {
        var plan = Of(backend.Device is CudaDevice gpu ? gpu.Plan : StepPlan.Layers);
        if (plan == LayersPlan.Instance || layers.Length > 64) return LayersPlan.Instance;
        Span<int> widths = stackalloc int[layers.Length + 1];
        widths[0] = x.Rank == 2 ? x.Shape[1] : 0;
        for (int l = 0; l < layers.Length; l++) widths[l + 1] = layers[l].Weight.Rank == 2 ? layers[l].Weight.Shape[0] : 0;
        return plan.WhyNot(backend.Device, widths) is null ? plan : LayersPlan.Instance;
    }
}

/// <summary>
/// One layer of an <see cref="MlpPlan"/>: its parameters and activation, where its output goes and, for the backward,
/// where dLoss/d(pre-activation) and the parameter gradients go, and whether those gradients were cleared by zero_grad
/// (<paramref name="OverwriteGrads"/>: written, not added to). A ReLU layer has a <paramref name="ReluMask"/> shaped by
/// <see cref="MlpPlan.ReluMaskShape"/> when the plan asks for one.
/// </summary>
internal readonly record struct MlpLayer(Tensor Weight, Tensor? Bias, Activation Activation, Tensor Output,
    Tensor? PreActivationGrad = null, Tensor? WeightGrad = null, Tensor? BiasGrad = null, bool OverwriteGrads = false,
    Tensor? ReluMask = null);
