using CudaNn.Nn;

namespace CudaNn.Checkpoints;

/// <summary>
/// A model's parameters as a safetensors file with PyTorch's state-dict names and layouts
/// (fc1.weight [128, 784], fc1.bias [128], ...), so torch's load_state_dict accepts it, and weights
/// PyTorch saved load here (F32, F64, F16 or BF16, converted to the model's dtype).
/// </summary>
public static class ModelCheckpoint
{
    /// <summary>Tensor names with this prefix hold training state, not model parameters.</summary>
    public const string TrainingStatePrefix = "cudann.";

    /// <summary>Writes every parameter, atomically: a crash leaves the old file or the new one, never half of one.</summary>
    public static void Save(Module model, string path, IReadOnlyDictionary<string, string>? metadata = null,
        IEnumerable<SafetensorsEntry>? trainingState = null)
    {
        var entries = new List<SafetensorsEntry>();
        foreach (var (name, p) in model.NamedParameters())
        {
            long[] shape = p.Shape.ToArray().Select(d => (long)d).ToArray();
            entries.Add(p.Value.DType == DType.Float64
                ? SafetensorsEntry.FromDoubles(name, shape, p.Value.ToArray<double>())
                : SafetensorsEntry.FromFloats(name, shape, p.Value.ToArray<float>()));
        }
        if (trainingState is not null) entries.AddRange(trainingState);
        SafetensorsWriter.Write(path, entries, metadata);
    }

    /// <summary>
    /// Overwrites every parameter of <paramref name="model"/> from <paramref name="file"/>; names and shapes must match
    /// exactly, and every value must be finite (a NaN or infinity is named with its tensor and position) unless
    /// <paramref name="allowNonFinite"/>.
    /// </summary>
    public static void Load(Module model, SafetensorsFile file, bool allowNonFinite = false)
    {
        var named = model.NamedParameters().ToList();
        CheckTensors(file, named.Select(p => (p.Name, p.Parameter.Shape.ToArray().Select(d => (long)d).ToArray())));
        // Convert everything first, so a bad tensor leaves the model untouched.
        var values = new List<Tensor>();
        try
        {
            foreach (var (name, p) in named) values.Add(FiniteValues.Read(file, name, p.Value, allowNonFinite));
        }
        catch
        {
            foreach (var t in values) t.Dispose();
            throw;
        }
        try
        {
            for (int i = 0; i < named.Count; i++)
            {
                var target = named[i].Parameter.Value;
                using var onDevice = values[i].To(target.Device);
                target.Backend.Copy(onDevice, target);
            }
        }
        finally
        {
            foreach (var t in values) t.Dispose();
        }
    }

    /// <summary>
    /// Checks that <paramref name="file"/> holds exactly the parameters <paramref name="expected"/> lists (training
    /// state aside), each of its shape, before anything is converted or a model built: a file naming other layers or
    /// other sizes is refused saying which.
    /// </summary>
    public static void CheckTensors(SafetensorsFile file, IEnumerable<(string Name, long[] Shape)> expected)
    {
        var parameters = expected.ToList();
        var names = parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var missing = parameters.Where(p => file.Find(p.Name) is null).Select(p => p.Name).ToList();
        var unexpected = file.Tensors.Select(t => t.Name)
            .Where(n => !n.StartsWith(TrainingStatePrefix, StringComparison.Ordinal) && !names.Contains(n)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new CheckpointFormatException(file.Source,
                $"does not match the model: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}]");
        foreach (var (name, shape) in parameters)
            if (!file.Get(name).Shape.SequenceEqual(shape))
                throw new CheckpointFormatException(file.Source,
                    $"tensor '{name}' has shape [{string.Join(", ", file.Get(name).Shape)}], expected [{string.Join(", ", shape)}]");
    }
}
