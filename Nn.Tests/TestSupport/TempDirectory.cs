using System.IO.Compression;

namespace CudaNn.Tests.TestSupport;

/// <summary>A fresh directory under the system temp folder, deleted on dispose, with helpers to write test files.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cudann-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="bytes"/> as they are, or gzip-compressed when the name ends in ".gz".</summary>
    public string Write(string name, byte[] bytes)
    {
        string path = File(name);
        if (name.EndsWith(".gz", StringComparison.Ordinal))
            System.IO.File.WriteAllBytes(path, Gzip(bytes));
        else
            System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
            gzip.Write(bytes);
        return buffer.ToArray();
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
