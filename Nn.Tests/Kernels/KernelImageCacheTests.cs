using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

public class KernelImageCacheTests
{
    private static readonly KernelTarget Sm80 = new("sm_80", IsCubin: true);

    [Test]
    public void SecondCall_LoadsFromTheCache_WithTheSameImage()
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();
        using var directory = new TempDirectory();
        var cache = new KernelImageCache(directory.Path);

        KernelImage first = cache.GetOrCompile(nvrtc, Sm80);
        KernelImage second = new KernelImageCache(directory.Path).GetOrCompile(nvrtc, Sm80);

        Assert.That(first.FromCache, Is.False);
        Assert.That(File.Exists(first.CachePath), Is.True);
        Assert.That(second.FromCache, Is.True);
        Assert.That(second.CachePath, Is.EqualTo(first.CachePath));
        Assert.That(second.Image, Is.EqualTo(first.Image));
        Assert.That(first.Image.Take(4).ToArray(), Is.EqualTo(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }));
        Assert.That(Directory.GetFiles(directory.Path), Has.Length.EqualTo(1), "no temporary file is left behind");
    }

    [TestCase("flip a payload byte")]
    [TestCase("truncate")]
    [TestCase("empty")]
    [TestCase("wrong magic")]
    public void CorruptFile_IsRecompiledAndReplaced_NotTrusted(string damage)
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();
        using var directory = new TempDirectory();
        var cache = new KernelImageCache(directory.Path);
        KernelImage original = cache.GetOrCompile(nvrtc, Sm80);
        byte[] file = File.ReadAllBytes(original.CachePath);
        byte[] damaged = damage switch
        {
            "flip a payload byte" => Flip(file, file.Length / 2),
            "truncate" => file[..(file.Length - 100)],
            "empty" => [],
            _ => Flip(file, 0),
        };
        File.WriteAllBytes(original.CachePath, damaged);

        KernelImage again = cache.GetOrCompile(nvrtc, Sm80);
        KernelImage third = cache.GetOrCompile(nvrtc, Sm80);

        Assert.That(again.FromCache, Is.False, "a damaged file must be recompiled");
        Assert.That(again.Image, Is.EqualTo(original.Image));
        Assert.That(File.ReadAllBytes(original.CachePath), Is.EqualTo(file), "the damaged file is replaced by a good one");
        Assert.That(third.FromCache, Is.True);
    }

    [Test]
    public void PtxTarget_IsCachedSeparately_AsText()
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();
        using var directory = new TempDirectory();
        var cache = new KernelImageCache(directory.Path);

        KernelImage ptx = cache.GetOrCompile(nvrtc, new KernelTarget("compute_90", IsCubin: false));
        KernelImage cubin = cache.GetOrCompile(nvrtc, Sm80);

        Assert.That(ptx.CachePath, Is.Not.EqualTo(cubin.CachePath));
        Assert.That(ptx.CachePath, Does.EndWith(".ptx").And.Contain("compute_90").And.Contain($"nvrtc{nvrtc.Version}"));
        Assert.That(System.Text.Encoding.UTF8.GetString(ptx.Image), Does.Contain(".target sm_90").And.Contain(".visible .entry adam_step("));
    }

    [Test]
    public void UnwritableDirectory_StillGivesTheImage()
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();
        using var directory = new TempDirectory();
        string blocker = directory.Write("not-a-directory", [1]);

        KernelImage image = new KernelImageCache(Path.Combine(blocker, "cache")).GetOrCompile(nvrtc, Sm80);

        Assert.That(image.FromCache, Is.False);
        Assert.That(image.Image, Is.Not.Empty);
    }

    [Test]
    public void CacheKey_DependsOnTargetAndNvrtcVersion()
    {
        var cache = new KernelImageCache("/cache");

        string a = cache.PathFor(Sm80, new Version(11, 8));
        Assert.That(cache.PathFor(Sm80, new Version(11, 8)), Is.EqualTo(a));
        Assert.That(cache.PathFor(Sm80, new Version(12, 4)), Is.Not.EqualTo(a));
        Assert.That(cache.PathFor(new KernelTarget("sm_90", true), new Version(11, 8)), Is.Not.EqualTo(a));
        Assert.That(Path.GetDirectoryName(a), Is.EqualTo("/cache"));
    }

    private static byte[] Flip(byte[] bytes, int index)
    {
        byte[] copy = (byte[])bytes.Clone();
        copy[index] ^= 0xff;
        return copy;
    }
}
