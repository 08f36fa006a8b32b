using System.Security.Cryptography;
using System.Text;
using CudaNn.Cuda;

namespace CudaNn.Kernels;

/// <summary>A loadable kernels.cu image and where it came from.</summary>
/// <param name="Image">CUBIN bytes, or PTX text as UTF-8.</param>
/// <param name="Target">What was compiled.</param>
/// <param name="FromCache">True when read from disk, false when NVRTC compiled it just now.</param>
/// <param name="CachePath">The cache file for this source, target and NVRTC version.</param>
internal sealed record KernelImage(byte[] Image, KernelTarget Target, bool FromCache, string CachePath);

/// <summary>
/// Compiles kernels.cu once per (source hash, compile options, target, NVRTC version) and keeps the image on
/// disk, so a second start compiles nothing. A file is written to a temporary name and renamed; it carries
/// the SHA-256 of its payload, and one that fails the check is recompiled and replaced, never loaded.
/// </summary>
internal sealed class KernelImageCache(string directory)
{
    // File layout: 8-byte magic, 32-byte SHA-256 of the payload, the payload (the image).
    private static readonly byte[] Magic = "CUDANNK1"u8.ToArray();
    private const int HeaderBytes = 8 + 32;

    /// <summary>The directory the images live in (created on first write).</summary>
    public string Directory { get; } = directory ?? throw new ArgumentNullException(nameof(directory));

    /// <summary>A cache in <see cref="KernelCacheDirectory.Default"/>.</summary>
    public static KernelImageCache Default() => new(KernelCacheDirectory.Default);

    /// <summary>The image for a device of capability <paramref name="device"/> (see <see cref="KernelTarget.For"/>).</summary>
    public KernelImage GetOrCompile(NvrtcCompiler nvrtc, ComputeCapability device)
    {
        ArgumentNullException.ThrowIfNull(nvrtc);
        return GetOrCompile(nvrtc, KernelTarget.For(device, nvrtc.SupportedArchitectures));
    }

    /// <summary>The image for <paramref name="target"/>: from disk when a valid file is there, otherwise compiled and stored.</summary>
    public KernelImage GetOrCompile(NvrtcCompiler nvrtc, KernelTarget target) =>
        GetOrCompile(nvrtc, target, KernelSource.Text, KernelSource.ProgramName, KernelSource.CompileOptions, PathFor(target, nvrtc.Version));

    /// <summary>
    /// The image of another CUDA source (a user's kernel) for <paramref name="target"/>, cached beside kernels.cu's under
    /// the SHA-256 of the source, the options, the target and NVRTC's version.
    /// </summary>
    public KernelImage GetOrCompile(NvrtcCompiler nvrtc, KernelTarget target, string source, string programName, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(nvrtc);
        string key = string.Join('\n', Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source))), programName,
            string.Join(' ', options), target.Architecture, nvrtc.Version);
        string keyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..24];
        string stem = Path.GetFileNameWithoutExtension(programName);
        return GetOrCompile(nvrtc, target, source, programName, options,
            Path.Combine(Directory, $"user-{stem}-{target.Architecture}-nvrtc{nvrtc.Version}-{keyHash}.{(target.IsCubin ? "cubin" : "ptx")}"));
    }

    private KernelImage GetOrCompile(NvrtcCompiler nvrtc, KernelTarget target, string source, string programName, IReadOnlyList<string> options, string path)
    {
        ArgumentNullException.ThrowIfNull(nvrtc);
        if (TryRead(path) is { } cached)
            return new KernelImage(cached, target, FromCache: true, path);

        NvrtcCompilation compilation = nvrtc.Compile(source, programName, [.. options, target.Option]);
        byte[] image = target.IsCubin
            ? compilation.Cubin ?? throw new InvalidOperationException($"NVRTC {nvrtc.Version} produced no CUBIN for {target.Architecture}.")
            : Encoding.UTF8.GetBytes(compilation.Ptx);
        TryWrite(path, image);
        return new KernelImage(image, target, FromCache: false, path);
    }

    /// <summary>The cache file for <paramref name="target"/> and NVRTC <paramref name="nvrtcVersion"/>.</summary>
    public string PathFor(KernelTarget target, Version nvrtcVersion)
    {
        ArgumentNullException.ThrowIfNull(nvrtcVersion);
        string key = string.Join('\n', KernelSource.Sha256, string.Join(' ', KernelSource.CompileOptions), target.Architecture, nvrtcVersion);
        string keyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..24];
        string extension = target.IsCubin ? "cubin" : "ptx";
        return Path.Combine(Directory, $"kernels-{target.Architecture}-nvrtc{nvrtcVersion}-{keyHash}.{extension}");
    }

    private static byte[]? TryRead(string path)
    {
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (file.Length <= HeaderBytes || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            return null;
        ReadOnlySpan<byte> payload = file.AsSpan(HeaderBytes);
        return SHA256.HashData(payload).AsSpan().SequenceEqual(file.AsSpan(Magic.Length, 32)) ? payload.ToArray() : null;
    }

    private void TryWrite(string path, byte[] image)
    {
        // The cache only saves time: a read-only or full disk must not stop the kernels from loading.
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(Magic);
                stream.Write(SHA256.HashData(image));
                stream.Write(image);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temporary); } catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException) { }
        }
    }
}
