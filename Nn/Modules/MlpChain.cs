using CudaNn.Backends;
using CudaNn.Backends.Plans;

namespace CudaNn.Nn;

/// <summary>
/// A run of <see cref="Linear"/> layers in a <see cref="Sequential"/>, each followed by at most one activation module,
/// run by one <see cref="MlpPlan"/> instead of module by module: the plan chosen for each forward
/// (<see cref="MlpPlan.For"/>) runs its backward too. Its layers plan is the layers' own operations in the layers' order,
/// so the numbers are the same; on a GPU the device's plan may run the stack as cuBLASLt epilogues or three fused
/// launches. It keeps its own buffers, per shape and grad mode as the layers do (<see cref="ShapeBuffers"/>): each
/// layer's output and each layer's dLoss/d(pre-activation).
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
    private MlpPlan _plan = LayersPlan.Instance;
    private BackwardGuard _backward;

    private MlpChain(Linear[] linears, Activation[] activations)
    {
        _linears = linears;
        _activations = activations;
        _outputs = linears.Select(_ => new ShapeBuffers()).ToArray();
        _preActivationGrads = linears.Select(_ => new ShapeBuffers()).ToArray();
        _reluMasks = linears.Select(_ => new ShapeBuffers()).ToArray();
        _layers = new MlpLayer[linears.Length];
    }

    /// <summary>
    /// <paramref name="modules"/> in order, each maximal run of Linear layers (each followed by at most one activation
    /// whose backward reads its output: identity, ReLU, sigmoid, tanh) as one chain, every other module on its own.
    /// </summary>
    public static List<(MlpChain? Chain, Module? Module)> Segments(IReadOnlyList<Module> modules)
    {
        var segments = new List<(MlpChain?, Module?)>();
        var linears = new List<Linear>();
        var activations = new List<Activation>();
        void CloseRun()
        {
            if (linears.Count > 0) segments.Add((new MlpChain([.. linears], [.. activations]), null));
            linears.Clear();
            activations.Clear();
        }
        for (int i = 0; i < modules.Count; i++)
        {
            if (modules[i] is not Linear linear)
            {
                CloseRun();
                segments.Add((null, modules[i]));
                continue;
            }
            linears.Add(linear);
            // GELU and SiLU keep their input for the backward, which a chain does not keep: they run on their own.
            if (i + 1 < modules.Count && modules[i + 1] is ActivationModule activation && !activation.Activation.BackwardReadsInput)
            {
                activations.Add(activation.Activation);
                i++;
            }
            else
            {
                activations.Add(Activation.Identity);
            }
        }
        CloseRun();
        return segments;
    }

    public Tensor Forward(Tensor input)
    {
        var first = _linears[0];
        if (input.Rank != 2 || input.Shape[1] != first.InFeatures)
            throw new ArgumentException($"Linear({first.InFeatures}, {first.OutFeatures}) expects input [N, {first.InFeatures}], got {Tensor.ShapeText(input.Shape)}");
        if (!Module.MatchesModel(input, first.Weight.Value))
            throw Module.InputMismatch($"Linear({first.InFeatures}, {first.OutFeatures})", input, first.Weight.Value);
        int rows = input.Shape[0];
        bool grad = GradMode.IsEnabled;
        for (int l = 0; l < _linears.Length; l++)
        {
            var linear = _linears[l];
            var weight = linear.Weight.Value;
            _layers[l] = new MlpLayer(weight, linear.Bias?.Value, _activations[l], _outputs[l].Get([rows, linear.OutFeatures], weight));
        }
        _plan = MlpPlan.For(input.Backend, input, _layers);
        // Where the plan keeps ReLU masks for the backward (GEMM epilogues), they are needed only when there is one.
        for (int l = 0; l < _linears.Length && grad; l++)
            if (_activations[l] == Activation.ReLU && _plan.ReluMaskShape(rows, _linears[l].OutFeatures) is { } maskShape)
                _layers[l] = _layers[l] with { ReluMask = _reluMasks[l].Get(maskShape, DType.Int32, _layers[l].Weight.Device) };
        _plan.Forward(input.Backend, input, _layers);
        var output = _layers[^1].Output;
        output.RequiresGrad = grad;
        _input = grad ? input : null;
        _backward.Forward(grad);
        return output;
    }

    public Tensor? Backward(Tensor gradOutput)
    {
        _backward.ThrowIfUnavailable("Sequential");
        var x = _input!;
        var last = _layers[^1];
        if (!gradOutput.Shape.SequenceEqual(last.Output.Shape))
            throw new ArgumentException($"Sequential backward expects {Tensor.ShapeText(last.Output.Shape)}, got {Tensor.ShapeText(gradOutput.Shape)}");
        _backward.Take();
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
        _plan.Backward(x.Backend, x, _layers, gradOutput, gradInput);
        return gradInput;
    }

    /// <summary>The plan the latest forward ran (and its backward runs).</summary>
    public StepPlan Plan => _plan.Kind;

    /// <summary>Why <paramref name="plan"/> cannot run these layers on <paramref name="device"/> as it is set now, or null when it can.</summary>
    public string? WhyNot(StepPlan plan, Device device)
    {
        if (plan != StepPlan.Layers && _linears.Length > 64) return $"the {plan.ToString().ToLowerInvariant()} plan runs at most 64 Linear layers in a row, not {_linears.Length}";
        int[] widths = [_linears[0].InFeatures, .. _linears.Select(l => l.OutFeatures)];
        return MlpPlan.Of(plan).WhyNot(device, widths);
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
        _backward.Reset();
    }
}
