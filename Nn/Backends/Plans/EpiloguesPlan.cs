using CudaNn.Backends.Cuda;
using CudaNn.Cuda;

namespace CudaNn.Backends.Plans;

/// <summary>
/// <see cref="StepPlan.Epilogues"/>: each layer as one cuBLASLt GEMM whose epilogue adds the bias and applies ReLU
/// (keeping a 1-bit mask for the backward) or adds the bias alone; another activation, or a ReLU with no mask (no
/// gradients wanted), takes the GEMM and bias_activation. The backward is <see cref="LayersPlan"/>'s with epilogues
/// where the gradients are written: the last layer's weight-gradient GEMM also sums its bias gradient (BGRADB), and each
/// input-gradient GEMM into a ReLU layer applies ReLU's backward from the mask and sums that layer's bias gradient
/// (DRELU_BGRAD). An epilogue writes and cannot add, so gradients zero_grad did not clear take the plain operations.
/// </summary>
internal sealed class EpiloguesPlan : MlpPlan
{
    public static readonly EpiloguesPlan Instance = new();

    public override StepPlan Kind => StepPlan.Epilogues;

    public override string? WhyNot(Device device, ReadOnlySpan<int> widths) =>
        device is CudaDevice ? null : $"cuBLASLt's GEMM epilogues need a GPU or the emulator, not {device.Name}";

    /// <summary>One bit per element, as cuBLASLt's ReLU epilogue writes it: [rows, features rounded up to 128 bits] in int32 words.</summary>
    public override int[]? ReluMaskShape(int rows, int features) => [rows, GemmEpilogueArguments.ReluMaskLd(features) / 32];

    public override void Forward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers)
    {
        var cuda = (CudaBackend)backend;
        BackendChecks.Mlp(cuda, x, layers, backward: false);
        var input = x;
        foreach (var layer in layers)
        {
            if (layer.Bias is not null && layer.Activation == Activation.ReLU && layer.ReluMask is not null)
            {
                CheckReluMask(cuda, layer);
                cuda.GemmWithEpilogue(false, true, input, layer.Weight, 0.0, layer.Output, GemmEpilogue.ReluBias, layer.Bias, layer.ReluMask);
            }
            else if (layer.Bias is not null && layer.Activation == Activation.Identity)
            {
                cuda.GemmWithEpilogue(false, true, input, layer.Weight, 0.0, layer.Output, GemmEpilogue.Bias, layer.Bias, null);
            }
            else
            {
                cuda.Gemm(false, true, 1.0, input, layer.Weight, 0.0, layer.Output);
                if (layer.Bias is not null || layer.Activation != Activation.Identity)
                    cuda.BiasActivationForward(layer.Output, layer.Bias, layer.Activation);
            }
            input = layer.Output;
        }
    }

    public override void Backward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers, Tensor gradOutput, Tensor? gradInput)
    {
        var cuda = (CudaBackend)backend;
        BackendChecks.Mlp(cuda, x, layers, backward: true);
        var last = layers[^1];
        if (!ReferenceEquals(last.PreActivationGrad, gradOutput))
            cuda.ActivationBackward(last.Output, gradOutput, last.PreActivationGrad!, last.Activation);
        bool lastBiasByEpilogue = last.BiasGrad is not null && last.OverwriteGrads;
        if (last.BiasGrad is not null && !lastBiasByEpilogue) cuda.BiasGradient(last.PreActivationGrad!, last.BiasGrad);
        for (int l = layers.Length - 1; l >= 0; l--)
        {
            var layer = layers[l];
            var dz = layer.PreActivationGrad!;
            var below = l == 0 ? x : layers[l - 1].Output;
            if (l == layers.Length - 1 && lastBiasByEpilogue)
                cuda.GemmWithEpilogue(true, false, dz, below, 0.0, layer.WeightGrad!, GemmEpilogue.BiasGradFromB, layer.BiasGrad!, null);
            else
                cuda.Gemm(true, false, 1.0, dz, below, layer.OverwriteGrads ? 0.0 : 1.0, layer.WeightGrad!);
            if (l > 0)
            {
                var lower = layers[l - 1];
                if (lower.Activation == Activation.ReLU && lower.ReluMask is not null && lower.BiasGrad is not null && lower.OverwriteGrads)
                {
                    CheckReluMask(cuda, lower);
                    cuda.GemmWithEpilogue(false, false, dz, layer.Weight, 0.0, lower.PreActivationGrad!, GemmEpilogue.ReluBackwardBiasGrad, lower.BiasGrad, lower.ReluMask);
                }
                else
                {
                    cuda.Gemm(false, false, 1.0, dz, layer.Weight, 0.0, lower.PreActivationGrad!);
                    cuda.ActivationBiasBackward(lower.Output, lower.PreActivationGrad!, lower.BiasGrad, lower.Activation, !lower.OverwriteGrads);
                }
            }
            else if (gradInput is not null)
            {
                cuda.Gemm(false, false, 1.0, dz, layer.Weight, 0.0, gradInput);
            }
        }
    }

    private void CheckReluMask(CudaBackend backend, MlpLayer layer)
    {
        var mask = layer.ReluMask!;
        BackendChecks.OnDevice(backend, nameof(MlpLayer.ReluMask), mask);
        long bits = (long)layer.Output.Shape[0] * GemmEpilogueArguments.ReluMaskLd(layer.Output.Shape[1]);
        if (mask.DType != DType.Int32 || mask.Numel * 32 != bits)
            throw new ArgumentException($"a ReLU mask for output {Tensor.ShapeText(layer.Output.Shape)} is int32 of {bits / 32} elements ({nameof(ReluMaskShape)}), not {mask}");
    }
}
