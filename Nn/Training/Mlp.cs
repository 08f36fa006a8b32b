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
    /// <summary>fc1 → act → fc2 → act → ... → fcN, e.g. 784-128-64-10 for hidden = [128, 64].</summary>
    public static Sequential Create(int inputs, IReadOnlyList<int> hidden, int classes, Activation activation,
        Generator? generator = null, Device? device = null)
    {
        if (activation == Activation.Identity) throw new ArgumentException("an MLP needs a nonlinear activation");
        var widths = new List<int> { inputs };
        widths.AddRange(hidden);
        widths.Add(classes);
        var layers = new List<(string, Module)>();
        for (int i = 0; i + 1 < widths.Count; i++)
        {
            string n = (i + 1).ToString(CultureInfo.InvariantCulture);
            layers.Add(($"fc{n}", new Linear(widths[i], widths[i + 1], device: device, generator: generator)));
            if (i + 2 < widths.Count) layers.Add(($"act{n}", NewActivation(activation)));
        }
        return new Sequential(layers.ToArray());
    }

    public static Module NewActivation(Activation activation) => activation switch
    {
        Activation.ReLU => new ReLU(),
        Activation.Sigmoid => new Sigmoid(),
        Activation.Tanh => new Tanh(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "no module for this activation"),
    };

    /// <summary>Parses "relu", "sigmoid" or "tanh".</summary>
    public static Activation ParseActivation(string name) => name.ToLowerInvariant() switch
    {
        "relu" => Activation.ReLU,
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        _ => throw new ArgumentException($"unknown activation '{name}'; expected relu, sigmoid or tanh"),
    };
}
