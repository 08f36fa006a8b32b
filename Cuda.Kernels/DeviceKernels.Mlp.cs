using System.Runtime.InteropServices;
using CudaNn.Cuda;

namespace CudaNn.Kernels;

/// <summary>
/// One layer of a fused small MLP as mlp_forward, mlp_backward_data and mlp_weight_grads read it (kernels.cu's
/// <c>MlpLayer</c>, field for field): y[rows, Out] = act(a[rows, In] · W[Out, In]ᵀ + b[Out]), a being the previous
/// layer's y. <see cref="PreActivationGrad"/> (dLoss/d(a·Wᵀ + b), [rows, Out]), <see cref="WeightGrad"/> and
/// <see cref="BiasGrad"/> are used by the backward kernels only; <see cref="Bias"/> and <see cref="BiasGrad"/> may be null.
/// <see cref="OverwriteGrads"/> (nonzero) makes mlp_weight_grads write the two gradients instead of adding to them.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct MlpLayerArgs(
    DevicePtr Weight, DevicePtr Bias, DevicePtr Output, DevicePtr PreActivationGrad, DevicePtr WeightGrad, DevicePtr BiasGrad,
    int In, int Out, int Activation, int OverwriteGrads = 0);

internal sealed partial class DeviceKernels
{
    /// <summary>Most layers a fused MLP launch takes.</summary>
    public const int MlpMaxLayers = 4;

    /// <summary>Widest layer output of a fused MLP (the first layer's input may be wider): one thread per column.</summary>
    public const int MlpMaxWidth = 128;

    /// <summary>Rows each block of mlp_forward and mlp_backward_data owns.</summary>
    private const int MlpRowsPerBlock = 4;

    /// <summary>
    /// The whole forward of a stack of Linear layers with their activations (mlp_forward): layer l writes
    /// y_l = act_l(a_l · W_lᵀ + b_l) into its <see cref="MlpLayerArgs.Output"/>, a_0 = x [rows, layers[0].In].
    /// </summary>
    public void MlpForward(IDeviceStream stream, DevicePtr x, int rows, ReadOnlySpan<MlpLayerArgs> layers)
    {
        CheckStream(stream);
        CheckMlp(rows, layers, backward: false);
        if (rows == 0)
            return;
        CheckBuffer(x, nameof(x));
        Launch(stream, KernelNames.MlpForward, MlpRowGrid(rows), MlpArguments(Arguments().Add(x).Add(rows), layers));
    }

    /// <summary>
    /// The gradients that flow down the stack (mlp_backward_data): from gradOutput = dLoss/dy of the last layer, each
    /// layer's <see cref="MlpLayerArgs.PreActivationGrad"/> dz_l (dz_last = gradOutput · act'(y_last), which may be
    /// gradOutput itself when the last activation is the identity; dz_{l-1} = (dz_l · W_l) · act'(y_{l-1})), and
    /// gradInput = dz_0 · W_0 unless <paramref name="gradInput"/> is null.
    /// </summary>
    public void MlpBackwardData(IDeviceStream stream, DevicePtr gradOutput, DevicePtr gradInput, int rows, ReadOnlySpan<MlpLayerArgs> layers)
    {
        CheckStream(stream);
        CheckMlp(rows, layers, backward: true);
        if (rows == 0)
            return;
        CheckBuffer(gradOutput, nameof(gradOutput));
        CheckOptionalBuffer(gradInput, nameof(gradInput));
        var last = layers[^1];
        if (last.PreActivationGrad == gradOutput && last.Activation != KernelActivation.Identity.Number)
            throw new ArgumentException("The last layer's dz may be gradOutput itself only when its activation is the identity.", nameof(layers));
        Launch(stream, KernelNames.MlpBackwardData, MlpRowGrid(rows),
            MlpArguments(Arguments().Add(gradOutput).Add(gradInput).Add(rows), layers));
    }

    /// <summary>
    /// Every weight and bias gradient of the stack (mlp_weight_grads): dW_l += dz_lᵀ · a_l and db_l += the column sums
    /// of dz_l, a_0 = x, rows summed in ascending order.
    /// </summary>
    public void MlpWeightGrads(IDeviceStream stream, DevicePtr x, int rows, ReadOnlySpan<MlpLayerArgs> layers)
    {
        CheckStream(stream);
        CheckMlp(rows, layers, backward: true);
        CheckBuffer(x, nameof(x));
        long elements = 0;
        foreach (var layer in layers)
        {
            CheckBuffer(layer.WeightGrad, "layers.WeightGrad");
            CheckOptionalBuffer(layer.BiasGrad, "layers.BiasGrad");
            elements += (long)layer.Out * (layer.In + 1);
        }
        Launch(stream, KernelNames.MlpWeightGrads, GridFor(elements), MlpArguments(Arguments().Add(x).Add(rows), layers));
    }

    private LaunchConfig MlpRowGrid(int rows) =>
        new((int)Math.Clamp((rows + MlpRowsPerBlock - 1L) / MlpRowsPerBlock, 1, maxBlocks), MlpMaxWidth);

    private static KernelArguments MlpArguments(KernelArguments arguments, ReadOnlySpan<MlpLayerArgs> layers)
    {
        arguments.Add(layers.Length);
        for (int i = 0; i < MlpMaxLayers; i++)
            arguments.Add(i < layers.Length ? layers[i] : default);
        return arguments;
    }

    private static void CheckMlp(int rows, ReadOnlySpan<MlpLayerArgs> layers, bool backward)
    {
        CheckCount(rows, nameof(rows));
        if (layers.Length is < 1 or > MlpMaxLayers)
            throw new ArgumentOutOfRangeException(nameof(layers), layers.Length, $"A fused MLP takes 1 to {MlpMaxLayers} layers.");
        for (int i = 0; i < layers.Length; i++)
        {
            var layer = layers[i];
            if (layer.Out is < 1 or > MlpMaxWidth || layer.In < 1)
                throw new ArgumentOutOfRangeException(nameof(layers),
                    $"Layer {i} is {layer.In} -> {layer.Out}; a fused MLP layer has at least one input and 1 to {MlpMaxWidth} outputs.");
            if (i > 0 && layer.In != layers[i - 1].Out)
                throw new ArgumentException($"Layer {i} takes {layer.In} inputs but layer {i - 1} gives {layers[i - 1].Out}.", nameof(layers));
            if (!new KernelActivation(layer.Activation).SlopeFromOutput)
                throw new ArgumentOutOfRangeException(nameof(layers), layer.Activation, $"Layer {i}: the fused MLP kernels take identity, ReLU, sigmoid or tanh (activation numbers 0 to 3).");
            CheckBuffer(layer.Weight, "layers.Weight");
            CheckOptionalBuffer(layer.Bias, "layers.Bias");
            CheckBuffer(layer.Output, "layers.Output");
            if (backward)
                CheckBuffer(layer.PreActivationGrad, "layers.PreActivationGrad");
        }
    }
}
