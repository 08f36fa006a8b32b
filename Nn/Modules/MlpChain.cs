using CudaNn.Backends;

namespace CudaNn.Nn;

/// <summary>
/// A <see cref="Sequential"/> that is a plain stack of <see cref="Linear"/> layers, each followed by at most one
/// activation module, run as one <see cref="Backend.MlpForward"/> and one <see cref="Backend.MlpBackward"/> instead of
/// module by module. On the reference backend these are the layers' own operations in the layers' order, so the numbers
/// are the same; on a GPU a small stack becomes three fused launches. It keeps its own buffers, per shape and grad
/// mode as the layers do (<see cref="ShapeBuffers"/>): each layer's output and each layer's dLoss/d(pre-activation).
/// </summary>
internal sealed class MlpChain
{
    private readonly Linear[] _linears;
    private readonly Activation[] _activations;
    private readonly ShapeBuffers[] _outputs;
    private readonly ShapeBuffers[] _preActivationGrads;
    private readonly ShapeBuffers[] _reluMasks;
    private readonly ShapeBuffers _gradInputs = new();
    private readonly MlpLayer[] _layers;
    private Tensor? _input;
    private bool _forwardWithoutGrad;

    private MlpChain(Linear[] linears, Activation[] activations)
    {
        _linears = linears;
        _activations = activations;
        _outputs = linears.Select(_ => new ShapeBuffers()).ToArray();
        _preActivationGrads = linears.Select(_ => new ShapeBuffers()).ToArray();
        _reluMasks = linears.Select(_ => new ShapeBuffers()).ToArray();
        _layers = new MlpLayer[linears.Length];
    }

    /// <summary>The chain of <paramref name="modules"/> when they are Linear layers each followed by at most one ReLU, sigmoid or tanh; else null.</summary>
    public static MlpChain? TryCreate(IReadOnlyList<Module> modules)
    {
        var linears = new List<Linear>();
        var activations = new List<Activation>();
        for (int i = 0; i < modules.Count; i++)
        {
            if (modules[i] is not Linear linear) return null;
            linears.Add(linear);
            if (i + 1 < modules.Count && modules[i + 1] is ActivationModule activation)
            {
                if (activation.Activation.BackwardReadsInput()) return null; // the stack keeps outputs only
                activations.Add(activation.Activation);
                i++;
            }
            else
            {
                activations.Add(Activation.Identity);
            }
        }
        return linears.Count == 0 ? null : new MlpChain([.. linears], [.. activations]);
    }

    public Tensor Forward(Tensor input)
    {
        var first = _linears[0];
        if (input.Rank != 2 || input.Shape[1] != first.InFeatures)
            throw new ArgumentException($"Linear({first.InFeatures}, {first.OutFeatures}) expects input [N, {first.InFeatures}], got {Tensor.ShapeText(input.Shape)}");
        int rows = input.Shape[0];
        bool grad = GradMode.IsEnabled;
        for (int l = 0; l < _linears.Length; l++)
        {
            var linear = _linears[l];
            var weight = linear.Weight.Value;
            // Where the backend keeps ReLU masks for the backward (GEMM epilogues), they are needed only when there is one.
            var maskShape = grad && _activations[l] == Activation.ReLU ? input.Backend.MlpReluMaskShape(rows, linear.OutFeatures) : null;
            _layers[l] = new MlpLayer(weight, linear.Bias?.Value, _activations[l], _outputs[l].Get([rows, linear.OutFeatures], weight),
                ReluMask: maskShape is null ? null : _reluMasks[l].Get(maskShape, DType.Int32, weight.Device));
        }
        input.Backend.MlpForward(input, _layers);
        var output = _layers[^1].Output;
        output.RequiresGrad = grad;
        _input = grad ? input : null;
        _forwardWithoutGrad = !grad;
        return output;
    }

    public Tensor? Backward(Tensor gradOutput)
    {
        var x = _input ?? throw new InvalidOperationException(_forwardWithoutGrad
            ? "Sequential.Backward: the latest Forward ran under GradMode.NoGrad(), which keeps nothing for Backward"
            : "Sequential.Backward called before Forward");
        var last = _layers[^1];
        if (!gradOutput.Shape.SequenceEqual(last.Output.Shape))
            throw new ArgumentException($"Sequential backward expects {Tensor.ShapeText(last.Output.Shape)}, got {Tensor.ShapeText(gradOutput.Shape)}");
        // Layers whose gradients zero_grad cleared are written instead of added to: taken first, as reading any other
        // gradient zeroes every cleared one of the optimizer.
        for (int l = 0; l < _layers.Length; l++)
        {
            var (weight, bias) = (_linears[l].Weight, _linears[l].Bias);
            if (weight.GradIsCleared && (bias is null || bias.GradIsCleared))
                _layers[l] = _layers[l] with { WeightGrad = weight.GradForBackward(out _), BiasGrad = bias?.GradForBackward(out _), OverwriteGrads = true };
            else
                _layers[l] = _layers[l] with { WeightGrad = null, OverwriteGrads = false };
        }
        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            var linear = _linears[l];
            // The last layer's gradient with respect to its pre-activation is gradOutput itself when it has no activation.
            var dz = l == _layers.Length - 1 && layer.Activation == Activation.Identity
                ? gradOutput
                : _preActivationGrads[l].Get(layer.Output.Shape, layer.Output);
            _layers[l] = layer.OverwriteGrads
                ? layer with { PreActivationGrad = dz }
                : layer with { PreActivationGrad = dz, WeightGrad = linear.Weight.Grad, BiasGrad = linear.Bias?.Grad };
        }
        var gradInput = x.RequiresGrad ? _gradInputs.Get(x.Shape, x) : null;
        x.Backend.MlpBackward(x, _layers, gradOutput, gradInput);
        return gradInput;
    }

    /// <summary>Frees every buffer (the model moved, or is disposed).</summary>
    public void ReleaseBuffers()
    {
        foreach (var buffers in _outputs) buffers.Clear();
        foreach (var buffers in _preActivationGrads) buffers.Clear();
        foreach (var buffers in _reluMasks) buffers.Clear();
        _gradInputs.Clear();
        Array.Clear(_layers);
        _input = null;
    }
}
