using System.Collections.Concurrent;
using CudaNn.Checkpoints;

namespace CudaNn.Tests.TestSupport;

/// <summary>
/// The PyTorch reference files of Nn.Tests/References (make_references.py writes them with Debian's PyTorch) and the
/// comparison every test of them makes.
/// </summary>
public static class ReferenceFiles
{
    private static readonly ConcurrentDictionary<string, SafetensorsFile> Loaded = new();

    /// <summary>Nn.Tests/References in the repository, whichever build folder the tests run from.</summary>
    public static string Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "Nn.Tests", "References");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"no Nn.Tests/References above {AppContext.BaseDirectory}");
    }

    /// <summary>A file of the repository by its path from the root, such as "data/tabular/progression.csv".</summary>
    public static string InRepository(string path) => System.IO.Path.GetFullPath(System.IO.Path.Combine(Folder(), "..", "..", path));

    /// <summary>One reference file, read once per test run.</summary>
    public static SafetensorsFile Load(string fileName) => Loaded.GetOrAdd(fileName, name => SafetensorsReader.Read(Path.Combine(Folder(), name)));

    /// <summary>Entry <paramref name="name"/> as a float64 tensor of its shape, on the host.</summary>
    public static Tensor Read(SafetensorsFile file, string name)
    {
        var entry = file.Get(name);
        return Tensor.FromArray(entry.ToDoubleArray(), entry.Shape.Select(d => (int)d).ToArray());
    }

    /// <summary>A tensor's values as float64, whatever its dtype and device.</summary>
    public static double[] Values(Tensor t) =>
        t.DType == DType.Float64 ? t.ToArray<double>() : Array.ConvertAll(t.ToArray<float>(), v => (double)v);

    /// <summary>
    /// Every element of <paramref name="actual"/> within <paramref name="tolerance"/> of entry <paramref name="name"/>:
    /// times the entry's largest |value|, or absolute; the worst error is printed beside its limit.
    /// </summary>
    public static void Compare(SafetensorsFile file, string name, Tensor actual, double tolerance, bool absolute = false)
    {
        double[] expected = file.Get(name).ToDoubleArray();
        double[] values = Values(actual);
        double scale = absolute ? 1 : Math.Max(expected.Max(Math.Abs), 1e-300);
        double worst = expected.Zip(values, (e, a) => Math.Abs(a - e)).DefaultIfEmpty(0).Max();
        TestContext.Out.WriteLine($"  {name,-22} max |error| {worst:E2} (limit {tolerance * scale:E2})");
        Close.Assert(expected, values, tolerance * scale, 0, $"{name} ({(absolute ? "absolute" : "relative to its largest value")} {tolerance:E0})");
    }
}
