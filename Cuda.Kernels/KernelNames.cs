namespace CudaNn.Kernels;

/// <summary>The <c>extern "C"</c> entry points of kernels.cu; nothing outside this assembly spells them.</summary>
internal static class KernelNames
{
    public const string ActivationForward = "activation_forward";
    public const string ActivationBackward = "activation_backward";
    public const string BiasActivationForward = "bias_activation_forward";
    public const string BiasGrad = "bias_grad";
    public const string BiasGradFinish = "bias_grad_finish";
    public const string ReluMaskWrite = "relu_mask_write";
    public const string ReluMaskApply = "relu_mask_apply";
    public const string LayerNormForward = "layer_norm_forward";
    public const string LayerNormBackward = "layer_norm_backward";
    public const string SoftmaxCrossEntropy = "softmax_cross_entropy";
    public const string MseLoss = "mse_loss";
    public const string LossFinish = "loss_finish";
    public const string AdamStep = "adam_step";
    public const string SgdStep = "sgd_step";
    public const string SumSquares = "sum_squares";
    public const string ClipCoefficient = "clip_coefficient";
    public const string ScaleBy = "scale_by";
    public const string Clamp = "clamp";
    public const string DropoutForward = "dropout_forward";
    public const string MlpForward = "mlp_forward";
    public const string MlpBackwardData = "mlp_backward_data";
    public const string MlpWeightGrads = "mlp_weight_grads";
    public const string GatherNormalize = "gather_normalize";
    public const string GatherRows = "gather_rows";
    public const string Fill = "fill";
    public const string Axpy = "axpy";
    public const string Copy = "copy";
    public const string Multiply = "multiply";

    public static IReadOnlyList<string> All { get; } =
    [
        ActivationForward, ActivationBackward, BiasActivationForward, BiasGrad, BiasGradFinish, ReluMaskWrite, ReluMaskApply, LayerNormForward, LayerNormBackward, SoftmaxCrossEntropy, MseLoss, LossFinish,
        AdamStep, SgdStep, SumSquares, ClipCoefficient, ScaleBy, Clamp, DropoutForward, MlpForward, MlpBackwardData, MlpWeightGrads,
        GatherNormalize, GatherRows, Fill, Axpy, Copy, Multiply,
    ];
}
