namespace CudaNn.Checkpoints;

/// <summary>
/// The contents of a safetensors file: named tensors in header order and the string-to-string
/// "__metadata__" map. Lookups of missing or wrongly typed tensors throw
/// <see cref="CheckpointFormatException"/> naming <see cref="Source"/>, since to a caller
/// expecting them they are a problem with the file.
/// </summary>
public sealed class SafetensorsFile
{
    private readonly Dictionary<string, SafetensorsEntry> _byName;

    /// <summary>Wraps already validated tensors; names must be unique.</summary>
    public SafetensorsFile(string source, IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        _byName = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        foreach (SafetensorsEntry entry in tensors)
        {
            if (!_byName.TryAdd(entry.Name, entry))
                throw new ArgumentException($"tensor name '{entry.Name}' appears more than once", nameof(tensors));
        }
        Source = source;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The path (or in-memory source name) the tensors were read from.</summary>
    public string Source { get; }

    /// <summary>The tensors in the order the header lists them.</summary>
    public IReadOnlyList<SafetensorsEntry> Tensors { get; }

    /// <summary>The "__metadata__" entries; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor with this name, or null.</summary>
    public SafetensorsEntry? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The tensor with this name; a missing one throws <see cref="CheckpointFormatException"/>.</summary>
    public SafetensorsEntry Get(string name) =>
        Find(name) ?? throw new CheckpointFormatException(Source,
            $"no tensor named '{name}' (the file has {(Tensors.Count == 0 ? "none" : string.Join(", ", Tensors.Select(t => t.Name)))})");

    /// <summary>
    /// The named tensor as float32 after checking its shape (null skips the check);
    /// F16/BF16/F64 are converted (see <see cref="SafetensorsValues.ToFloatArray"/>).
    /// </summary>
    public float[] GetFloats(string name, IReadOnlyList<long>? expectedShape = null)
    {
        SafetensorsEntry entry = Checked(name, expectedShape);
        if (!entry.Dtype.IsFloatingPoint())
            throw new CheckpointFormatException(Source, $"tensor '{name}' has dtype {entry.Dtype.HeaderName()}, expected F32 (or F16, BF16, F64)");
        return entry.ToFloatArray();
    }

    /// <summary>The named tensor as float64 after checking its shape (null skips the check).</summary>
    public double[] GetDoubles(string name, IReadOnlyList<long>? expectedShape = null)
    {
        SafetensorsEntry entry = Checked(name, expectedShape);
        if (!entry.Dtype.IsFloatingPoint())
            throw new CheckpointFormatException(Source, $"tensor '{name}' has dtype {entry.Dtype.HeaderName()}, expected F64 (or F32, F16, BF16)");
        return entry.ToDoubleArray();
    }

    /// <summary>The named integer tensor as int64 after checking its shape (null skips the check).</summary>
    public long[] GetInt64s(string name, IReadOnlyList<long>? expectedShape = null)
    {
        SafetensorsEntry entry = Checked(name, expectedShape);
        try
        {
            return entry.ToInt64Array();
        }
        catch (InvalidOperationException ex)
        {
            throw new CheckpointFormatException(Source, ex.Message, ex);
        }
    }

    private SafetensorsEntry Checked(string name, IReadOnlyList<long>? expectedShape)
    {
        SafetensorsEntry entry = Get(name);
        if (expectedShape is not null && !entry.Shape.SequenceEqual(expectedShape))
        {
            throw new CheckpointFormatException(Source,
                $"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", expectedShape)}]");
        }
        return entry;
    }
}
