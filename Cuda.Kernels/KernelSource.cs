using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace CudaNn.Kernels;

/// <summary>
/// kernels.cu as embedded in this assembly: its text, the SHA-256 of its bytes (the cache key's first part),
/// and the NVRTC options every compilation of it uses.
/// </summary>
internal static class KernelSource
{
    /// <summary>The program name NVRTC reports in messages, and the resource's logical name.</summary>
    public const string ProgramName = "kernels.cu";

    private static readonly Lazy<byte[]> Bytes = new(ReadResource);

    /// <summary>
    /// Options for every target. --fmad=false keeps a*b+c as two roundings, as the reference backend computes it,
    /// so device results match the reference to the last bit wherever the operations themselves do.
    /// </summary>
    public static IReadOnlyList<string> CompileOptions { get; } = ["-std=c++17", "--fmad=false"];

    /// <summary>The source text.</summary>
    public static string Text => Encoding.UTF8.GetString(Bytes.Value);

    /// <summary>Lower-case hex SHA-256 of the source's bytes.</summary>
    public static string Sha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(Bytes.Value));

    private static byte[] ReadResource()
    {
        using Stream stream = typeof(KernelSource).Assembly.GetManifestResourceStream(ProgramName)
            ?? throw new InvalidOperationException(
                $"{typeof(KernelSource).Assembly.GetName().Name} has no embedded resource '{ProgramName}'; the build did not embed kernels.cu.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
