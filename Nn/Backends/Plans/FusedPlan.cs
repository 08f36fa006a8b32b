using CudaNn.Backends.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Backends.Plans;

/// <summary>
/// <see cref="StepPlan.Fused"/>: the whole MLP as one launch forward (mlp_forward) and two backward, the gradients down
/// the stack (mlp_backward_data) and then every parameter gradient (mlp_weight_grads). It applies to at most
/// <see cref="DeviceKernels.MlpMaxLayers"/> layers no wider than <see cref="DeviceKernels.MlpMaxWidth"/>, in FP32: the
/// kernels do their own float32 arithmetic, so under TF32 or BF16 the run takes <see cref="LayersPlan"/> rather than
/// silently computing in another precision than asked.
/// </summary>
internal sealed class FusedPlan : MlpPlan
{
    public static readonly FusedPlan Instance = new();

    public override StepPlan Kind => StepPlan.Fused;

    public override string? WhyNot(Device device, ReadOnlySpan<int> widths)
    {
        if (device is not CudaDevice gpu)
            return $"the fused MLP kernels need a GPU or the emulator, not {device.Name}";
        if (gpu.Precision != Precision.FP32)
            return $"the fused MLP kernels compute in FP32, not {gpu.Precision}";
        if (widths.Length - 1 > DeviceKernels.MlpMaxLayers)
            return $"the fused MLP kernels take at most {DeviceKernels.MlpMaxLayers} layers, not {widths.Length - 1}";
        if (widths[0] < 1)
            return "the fused MLP kernels take an input [N, features] with at least one feature";
        foreach (int width in widths[1..])
            if (width < 1 || width > DeviceKernels.MlpMaxWidth)
                return $"the fused MLP kernels take layers of 1 to {DeviceKernels.MlpMaxWidth} outputs, not {width}";
        return null;
    }

    public override void Forward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers)
    {
        var cuda = (CudaBackend)backend;
        BackendChecks.Mlp(cuda, x, layers, backward: false);
        Span<MlpLayerArgs> args = stackalloc MlpLayerArgs[layers.Length];
        for (int l = 0; l < layers.Length; l++) args[l] = Args(layers[l], backward: false);
        cuda.Kernels.MlpForward(cuda.Stream, CudaBackend.Address(x), x.Shape[0], args);
    }

    public override void Backward(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers, Tensor gradOutput, Tensor? gradInput)
    {
        var cuda = (CudaBackend)backend;
        BackendChecks.Mlp(cuda, x, layers, backward: true);
        BackendChecks.Same(cuda, nameof(Backward), gradOutput, gradInput);
        BackendChecks.SameNumel(nameof(Backward), gradOutput, layers[^1].Output);
        if (gradInput is not null) BackendChecks.SameNumel(nameof(Backward), gradInput, x);
        Span<MlpLayerArgs> args = stackalloc MlpLayerArgs[layers.Length];
        for (int l = 0; l < layers.Length; l++) args[l] = Args(layers[l], backward: true);
        int rows = x.Shape[0];
        cuda.Kernels.MlpBackwardData(cuda.Stream, CudaBackend.Address(gradOutput), CudaBackend.AddressOrNull(gradInput), rows, args);
        cuda.Kernels.MlpWeightGrads(cuda.Stream, CudaBackend.Address(x), rows, args);
    }

    private static MlpLayerArgs Args(MlpLayer layer, bool backward) => new(
        CudaBackend.Address(layer.Weight), CudaBackend.AddressOrNull(layer.Bias), CudaBackend.Address(layer.Output),
        backward ? CudaBackend.Address(layer.PreActivationGrad!) : default, backward ? CudaBackend.Address(layer.WeightGrad!) : default,
        backward ? CudaBackend.AddressOrNull(layer.BiasGrad) : default,
        layer.Weight.Shape[1], layer.Weight.Shape[0], layer.Activation.Kernel.Number, layer.OverwriteGrads ? 1 : 0);
}
