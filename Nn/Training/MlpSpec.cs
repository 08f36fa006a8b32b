using System.Globalization;
using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Data;
using CudaNn.Nn;

namespace CudaNn.Training;

/// <summary>
/// The shape of an <see cref="Mlp"/>: widths and activation. Stored in a checkpoint's metadata so that
/// `eval` and `predict` rebuild the model from the file alone; for files without it (weights PyTorch saved)
/// the widths are read from the fc1.weight, fc2.weight, ... shapes.
/// </summary>
public sealed record MlpSpec(int Inputs, IReadOnlyList<int> Hidden, int Classes, Activation Activation)
{
    /// <summary>PyTorch's MNIST example: 784-128-64-10 with ReLU.</summary>
    public static MlpSpec Default { get; } = new(784, [128, 64], 10, Activation.ReLU);

    /// <summary>The probability a Dropout after each activation zeroes an element in training; 0 (the default): no dropout layers.</summary>
    public double Dropout { get; init; }

    /// <summary>Whether a LayerNorm sits between each hidden Linear and its activation (norm1, norm2, ...).</summary>
    public bool LayerNorm { get; init; }

    public Sequential Create(Generator? generator = null, Device? device = null) =>
        Mlp.Create(Inputs, Hidden, Classes, Activation, generator, device, Dropout, LayerNorm);

    /// <summary>"784-128-64-10 relu", then " layernorm" and " dropout 0.2" when it has them.</summary>
    public override string ToString() =>
        string.Join("-", new[] { Inputs }.Concat(Hidden).Append(Classes)) + " " + Activation +
        (LayerNorm ? " layernorm" : "") + (Dropout > 0 ? " dropout " + Dropout.ToString(CultureInfo.InvariantCulture) : "");

    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var metadata = new Dictionary<string, string>
        {
            ["cudann.model"] = "mlp",
            ["cudann.widths"] = string.Join(",", new[] { Inputs }.Concat(Hidden).Append(Classes)),
            ["cudann.activation"] = Activation.ToString(),
        };
        if (Dropout > 0) metadata[DropoutKey] = Dropout.ToString("R", CultureInfo.InvariantCulture);
        if (LayerNorm) metadata[LayerNormKey] = "true";
        return metadata;
    }

    private const string DropoutKey = "cudann.dropout";
    private const string LayerNormKey = "cudann.layer_norm";

    /// <summary>The spec a checkpoint was saved with, or inferred from its fcN.weight shapes.</summary>
    public static MlpSpec FromCheckpoint(SafetensorsFile file, Activation? fallbackActivation = null)
    {
        var widths = file.Metadata.TryGetValue("cudann.widths", out var text) ? ParseWidths(file, text) : InferWidths(file);
        var activation = file.Metadata.TryGetValue("cudann.activation", out var name)
            ? ParseActivation(file, name)
            : fallbackActivation ?? Activation.ReLU;
        double dropout = 0;
        if (file.Metadata.TryGetValue(DropoutKey, out var p) &&
            !(double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out dropout) && dropout >= 0 && dropout < 1))
            throw new CheckpointFormatException(file.Source, $"metadata {DropoutKey} '{p}' is not a probability in [0, 1)");
        // Weights PyTorch saved carry no metadata: their norm1.weight says there are layer norms.
        bool layerNorm = !file.Metadata.TryGetValue(LayerNormKey, out var norm) ? file.Find("norm1.weight") is not null : norm switch
        {
            "true" => true,
            "false" => false,
            _ => throw new CheckpointFormatException(file.Source, $"metadata {LayerNormKey} '{norm}' is not true or false"),
        };
        if (Mlp.CheckWidths(widths, layerNorm) is { } problem) throw new CheckpointFormatException(file.Source, problem);
        var spec = new MlpSpec(widths[0], widths.Skip(1).SkipLast(1).ToArray(), widths[^1], activation) { Dropout = dropout, LayerNorm = layerNorm };
        // The tensors must be the model's before the model is built: metadata cannot make it allocate what the file lacks.
        ModelCheckpoint.CheckTensors(file, spec.ParameterShapes());
        return spec;
    }

    /// <summary>The name and shape of every parameter <see cref="Create"/> makes, in its order, without making them.</summary>
    public IEnumerable<(string Name, long[] Shape)> ParameterShapes()
    {
        long[] widths = [Inputs, .. Hidden.Select(w => (long)w), Classes];
        for (int i = 1; i < widths.Length; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            yield return ($"fc{n}.weight", [widths[i], widths[i - 1]]);
            yield return ($"fc{n}.bias", [widths[i]]);
            if (!LayerNorm || i + 1 == widths.Length) continue;
            yield return ($"norm{n}.weight", [widths[i]]);
            yield return ($"norm{n}.bias", [widths[i]]);
        }
    }

    private static List<int> InferWidths(SafetensorsFile file)
    {
        var widths = new List<int>();
        for (int layer = 1; file.Find($"fc{layer}.weight") is { } weight; layer++)
        {
            if (weight.Shape.Count != 2)
                throw new CheckpointFormatException(file.Source, $"fc{layer}.weight has shape [{string.Join(", ", weight.Shape)}]; a Linear weight is 2-d");
            int outputs = checked((int)weight.Shape[0]), inputs = checked((int)weight.Shape[1]);
            if (widths.Count == 0) widths.Add(inputs);
            else if (widths[^1] != inputs)
                throw new CheckpointFormatException(file.Source, $"fc{layer}.weight takes {inputs} inputs but fc{layer - 1} gives {widths[^1]}");
            widths.Add(outputs);
        }
        if (widths.Count < 2)
            throw new CheckpointFormatException(file.Source, "no fc1.weight: this is not an MLP checkpoint (expected fc1.weight, fc1.bias, fc2.weight, ...)");
        return widths;
    }

    private static List<int> ParseWidths(SafetensorsFile file, string text)
    {
        // Counted before parsing, so a file listing a million widths is refused without a list of a million.
        int count = text.Count(c => c == ',') + 1;
        if (count - 1 > Mlp.MaxLayers)
            throw new CheckpointFormatException(file.Source, $"metadata cudann.widths lists {count} widths: {count - 1} layers is more than the {Mlp.MaxLayers} an MLP may have");
        var widths = new List<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int w) || w <= 0 || w > Mlp.MaxWidth)
                throw new CheckpointFormatException(file.Source,
                    $"metadata cudann.widths {InputText.Quote(text)} is not a list of widths from 1 to {Mlp.MaxWidth}");
            widths.Add(w);
        }
        return widths;
    }

    private static Activation ParseActivation(SafetensorsFile file, string name)
    {
        try
        {
            return Activation.Parse(name);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException(file.Source, $"metadata cudann.activation: {e.Message}");
        }
    }
}
