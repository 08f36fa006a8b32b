using System.Globalization;
using CudaNn.Backends;
using CudaNn.Nn;

namespace CudaNn.Training;

/// <summary>
/// The multilayer perceptron of PyTorch's MNIST example, named as its Net class names its layers
/// (fc1, fc2, ...), so a checkpoint's state-dict names load into that class unchanged.
/// </summary>
public static class Mlp
{
    /// <summary>The widest layer (inputs and outputs included) an MLP may have.</summary>
    public const int MaxWidth = 1 << 16;

    /// <summary>The most Linear layers an MLP may have (hidden layers plus the output layer).</summary>
    public const int MaxLayers = 64;

    /// <summary>
    /// The most parameters an MLP may have: 2^28, 1 GiB of float32 weights (4 GiB with their gradients and Adam's two
    /// moments), so a width read from a file or a command line cannot ask for more memory than a machine has.
    /// </summary>
    public const long MaxParameters = 1L << 28;

    /// <summary>Weights and biases of the Linear layers (and LayerNorms' scales and shifts) of an MLP of these widths.</summary>
    public static long ParameterCount(IReadOnlyList<int> widths, bool layerNorm = false)
    {
        long count = 0;
        for (int i = 0; i + 1 < widths.Count; i++)
        {
            count = checked(count + (long)widths[i] * widths[i + 1] + widths[i + 1]);
            if (layerNorm && i + 2 < widths.Count) count = checked(count + 2L * widths[i + 1]);
        }
        return count;
    }

    /// <summary>Why an MLP of these widths (inputs, hidden..., outputs) cannot be built, or null when it can.</summary>
    public static string? CheckWidths(IReadOnlyList<int> widths, bool layerNorm = false)
    {
        if (widths.Count < 2) return $"an MLP needs at least two widths (inputs and outputs), got {widths.Count}";
        if (widths.Count - 1 > MaxLayers) return $"{widths.Count - 1} layers is more than the {MaxLayers} an MLP may have";
        for (int i = 0; i < widths.Count; i++)
            if (widths[i] is <= 0 or > MaxWidth)
                return $"width {i + 1} is {widths[i]}; each width must be from 1 to {MaxWidth}";
        long parameters = ParameterCount(widths, layerNorm);
        return parameters > MaxParameters
            ? $"{string.Join("-", widths)} has {parameters:N0} parameters, more than the {MaxParameters:N0} an MLP may have"
            : null;
    }

    /// <summary>
    /// fc1 → act1 → fc2 → act2 → ... → fcN, e.g. 784-128-64-10 for hidden = [128, 64]. With <paramref name="layerNorm"/>, a
    /// LayerNorm (norm1, norm2, ...) sits between each hidden Linear and its activation, the block of a modern MLP. With
    /// <paramref name="dropout"/> above 0, a Dropout (drop1, drop2, ...) follows each activation, its seed drawn from
    /// <paramref name="generator"/> after every weight. Dropout has no parameters, so the state-dict names stay those
    /// of PyTorch's Net.
    /// </summary>
    public static Sequential Create(int inputs, IReadOnlyList<int> hidden, int classes, Activation activation,
        Generator? generator = null, Device? device = null, double dropout = 0, bool layerNorm = false)
    {
        ArgumentNullException.ThrowIfNull(activation);
        if (activation == Activation.Identity) throw new ArgumentException("an MLP needs a nonlinear activation");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "an MLP's dropout is in [0, 1)");
        var widths = new List<int> { inputs };
        widths.AddRange(hidden);
        widths.Add(classes);
        if (CheckWidths(widths, layerNorm) is { } problem) throw new ArgumentException(problem);
        generator ??= Generator.Default;
        // Every weight first, then the dropout seeds: adding dropout leaves the initialisation as it was.
        var linears = Enumerable.Range(0, widths.Count - 1)
            .Select(i => new Linear(widths[i], widths[i + 1], device: device, generator: generator)).ToArray();
        var layers = new List<(string, Module)>();
        for (int i = 0; i < linears.Length; i++)
        {
            string n = (i + 1).ToString(CultureInfo.InvariantCulture);
            layers.Add(($"fc{n}", linears[i]));
            if (i + 1 == linears.Length) break;
            if (layerNorm) layers.Add(($"norm{n}", new LayerNorm(widths[i + 1], device: device)));
            layers.Add(($"act{n}", activation.NewModule()));
            if (dropout > 0) layers.Add(($"drop{n}", new Dropout(dropout, generator)));
        }
        return new Sequential(layers.ToArray());
    }
}
