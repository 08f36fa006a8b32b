namespace CudaNn.Data;

/// <summary>
/// Thrown when a file is not a valid IDX file (the MNIST format) or its contents do not fit
/// together: wrong magic number, unsupported element type, bad dimensions, truncated or
/// trailing data, a corrupt gzip stream, image/label count mismatch, labels out of range.
/// The message always names the file and what is wrong with it.
/// </summary>
public sealed class IdxFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> with a description of the <paramref name="problem"/>.</summary>
    public IdxFormatException(string filePath, string problem, Exception? innerException = null)
        : base($"IDX file '{filePath}': {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file that was being read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with the file, without the file name.</summary>
    public string Problem { get; }
}
