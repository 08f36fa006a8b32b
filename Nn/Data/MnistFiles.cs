namespace CudaNn.Data;

/// <summary>
/// Finds the images and labels files of one MNIST split in a directory, under the names that
/// Yann LeCun's site, torchvision (data/MNIST/raw) and Debian's dataset packages all use,
/// plain or gzip-compressed, plus the "train-images.idx3-ubyte" spelling of some mirrors.
/// </summary>
internal static class MnistFiles
{
    /// <summary>The file names tried for a split's images or labels, in the order they are tried.</summary>
    public static IReadOnlyList<string> CandidateNames(MnistSplit split, bool labels)
    {
        string prefix = split switch
        {
            MnistSplit.Train => "train",
            MnistSplit.Test => "t10k",
            _ => throw new ArgumentOutOfRangeException(nameof(split), split, "Unknown MNIST split."),
        };
        string stem = labels ? "labels" : "images";
        string idx = labels ? "idx1-ubyte" : "idx3-ubyte";
        // Raw first: torchvision keeps both the .gz it downloaded and the file it extracted.
        string[] bases = [$"{prefix}-{stem}-{idx}", $"{prefix}-{stem}.{idx}"];
        return [.. bases, .. bases.Select(b => b + ".gz")];
    }

    /// <summary>
    /// The (images, labels) paths of <paramref name="split"/> in <paramref name="directory"/>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">A file is missing; the message lists every name looked for.</exception>
    public static (string Images, string Labels) Find(string directory, MnistSplit split)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"MNIST data directory '{directory}' does not exist.");
        return (FindOne(directory, split, labels: false), FindOne(directory, split, labels: true));
    }

    static string FindOne(string directory, MnistSplit split, bool labels)
    {
        var names = CandidateNames(split, labels);
        foreach (string name in names)
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path))
                return path;
        }
        string what = $"{split.ToString().ToLowerInvariant()} {(labels ? "labels" : "images")}";
        throw new FileNotFoundException(
            $"No MNIST {what} file in '{directory}'; looked for {string.Join(", ", names)}.",
            Path.Combine(directory, names[0]));
    }
}
