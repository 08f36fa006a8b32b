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
        if (activation == Activation.Identity) throw new ArgumentException("an MLP needs a nonlinear activation");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "an MLP's dropout is in [0, 1)");
        generator ??= Generator.Default;
        var widths = new List<int> { inputs };
        widths.AddRange(hidden);
        widths.Add(classes);
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
            layers.Add(($"act{n}", NewActivation(activation)));
            if (dropout > 0) layers.Add(($"drop{n}", new Dropout(dropout, generator)));
        }
        return new Sequential(layers.ToArray());
    }

    public static Module NewActivation(Activation activation) => activation switch
    {
        Activation.ReLU => new ReLU(),
        Activation.Sigmoid => new Sigmoid(),
        Activation.Tanh => new Tanh(),
        Activation.GELU => new GELU(),
        Activation.SiLU => new SiLU(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "no module for this activation"),
    };

    /// <summary>Parses "relu", "sigmoid", "tanh", "gelu" or "silu".</summary>
    public static Activation ParseActivation(string name) => name.ToLowerInvariant() switch
    {
        "relu" => Activation.ReLU,
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        "gelu" => Activation.GELU,
        "silu" => Activation.SiLU,
        _ => throw new ArgumentException($"unknown activation '{name}'; expected relu, sigmoid, tanh, gelu or silu"),
    };
}
