namespace CudaNn.Backends.Plans;

/// <summary>
/// <see cref="StepPlan.Layers"/>: each layer as the layers themselves run it, through the backend's primitives. The
/// forward is a GEMM and a bias-and-activation pass per layer; the backward, from the top, the activation's backward
/// and bias gradient (one pass on a GPU, <see cref="Backend.ActivationBiasBackward"/>), the weight-gradient GEMM and
/// the GEMM into the layer below.
/// </summary>
internal sealed class LayersPlan : MlpPlan
{
    public static readonly LayersPlan Instance = new();

    public override StepPlan Kind => StepPlan.Layers;

    public override string? WhyNot(Device device, ReadOnlySpan<int> widths) => null;

    public override void Forward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers)
    {
        BackendChecks.Mlp(backend, x, layers, backward: false);
        var input = x;
        foreach (var layer in layers)
        {
            // Output[N, out] = input[N, in] · Wᵀ, then act(Output + b) in place
            backend.Gemm(false, true, 1.0, input, layer.Weight, 0.0, layer.Output);
            if (layer.Bias is not null || layer.Activation != Activation.Identity)
                backend.BiasActivationForward(layer.Output, layer.Bias, layer.Activation);
            input = layer.Output;
        }
    }

    public override void Backward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers, Tensor gradOutput, Tensor? gradInput)
    {
        BackendChecks.Mlp(backend, x, layers, backward: true);
        var last = layers[^1];
        if (!ReferenceEquals(last.PreActivationGrad, gradOutput))
            backend.ActivationBackward(last.Output, gradOutput, last.PreActivationGrad!, last.Activation);
        if (last.BiasGrad is not null) backend.BiasGradient(last.PreActivationGrad!, last.BiasGrad, !last.OverwriteGrads);
        for (int l = layers.Length - 1; l >= 0; l--)
        {
            var layer = layers[l];
            var dz = layer.PreActivationGrad!;
            // dW[out, in] (+)= dzᵀ · input
            backend.Gemm(true, false, 1.0, dz, l == 0 ? x : layers[l - 1].Output, layer.OverwriteGrads ? 0.0 : 1.0, layer.WeightGrad!);
            if (l > 0)
            {
                // The layer below: its output's gradient dz · W, then its activation's backward and bias gradient.
                var below = layers[l - 1];
                backend.Gemm(false, false, 1.0, dz, layer.Weight, 0.0, below.PreActivationGrad!);
                backend.ActivationBiasBackward(below.Output, below.PreActivationGrad!, below.BiasGrad, below.Activation, !below.OverwriteGrads);
            }
            else if (gradInput is not null)
            {
                backend.Gemm(false, false, 1.0, dz, layer.Weight, 0.0, gradInput);
            }
        }
    }
}
