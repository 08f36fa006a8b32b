namespace CudaNn.Data;

/// <summary>
/// Locates the MNIST digits shipped with CudaNn (data/mnist-10k in the repository), so programs
/// and tests run from any build output folder find them without configuration.
/// </summary>
public static class DefaultData
{
    /// <summary>Environment variable naming a directory of MNIST files to use instead of the shipped ones.</summary>
    public const string EnvironmentVariable = "CUDANN_DATA";

    /// <summary>Where the shipped data set sits, relative to the repository root.</summary>
    public static readonly string RelativePath = Path.Combine("data", "mnist-10k");

    /// <summary>
    /// The directory named by CUDANN_DATA when it is set; otherwise the first data/mnist-10k found
    /// in <see cref="AppContext.BaseDirectory"/> or one of its ancestors.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">CUDANN_DATA names a missing directory, or no data/mnist-10k was found.</exception>
    public static string Locate() =>
        Locate(Environment.GetEnvironmentVariable(EnvironmentVariable), AppContext.BaseDirectory);

    /// <summary><see cref="Locate()"/> with the variable's value and the start directory given explicitly.</summary>
    public static string Locate(string? environmentValue, string startDirectory)
    {
        if (!string.IsNullOrEmpty(environmentValue))
        {
            if (!Directory.Exists(environmentValue))
                throw new DirectoryNotFoundException(
                    $"{EnvironmentVariable} is set to '{environmentValue}', which is not a directory.");
            return Path.GetFullPath(environmentValue);
        }
        for (var dir = new DirectoryInfo(Path.GetFullPath(startDirectory)); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, RelativePath);
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException(
            $"Found no '{RelativePath}' directory in '{startDirectory}' or any folder above it; " +
            $"pass a data directory explicitly or set {EnvironmentVariable}.");
    }
}
