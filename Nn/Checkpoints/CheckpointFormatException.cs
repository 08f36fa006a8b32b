namespace CudaNn.Checkpoints;

/// <summary>
/// Thrown when a checkpoint's bytes are not a well-formed safetensors file: the header length,
/// the JSON header, a dtype, a shape, the data offsets or the metadata is wrong, or a tensor a
/// caller asked for is missing or has the wrong dtype or shape. The message names the file (or
/// the name given for an in-memory source) and the problem. It derives from
/// <see cref="FormatException"/> because <see cref="InvalidDataException"/> is sealed.
/// </summary>
public sealed class CheckpointFormatException : FormatException
{
    /// <summary>Creates the exception; the message becomes "{sourceName}: {problem}".</summary>
    public CheckpointFormatException(string sourceName, string problem)
        : base($"{sourceName}: {problem}")
    {
        SourceName = sourceName;
        Problem = problem;
    }

    /// <summary>Creates the exception with the error that revealed the problem (e.g. a JSON syntax error).</summary>
    public CheckpointFormatException(string sourceName, string problem, Exception innerException)
        : base($"{sourceName}: {problem}", innerException)
    {
        SourceName = sourceName;
        Problem = problem;
    }

    /// <summary>The file path, or the name given for an in-memory source, the bad bytes came from.</summary>
    public string SourceName { get; }

    /// <summary>The problem alone, without the source name.</summary>
    public string Problem { get; }
}
