using CudaNn.Kernels;

namespace CudaNn.Tests.Kernels;

public class KernelCacheDirectoryTests
{
    [Test]
    public void Override_WinsOverXdgAndHome()
    {
        var environment = new Dictionary<string, string> { ["CUDANN_CACHE_DIR"] = "/tmp/k", ["XDG_CACHE_HOME"] = "/xdg" };

        Assert.That(KernelCacheDirectory.Resolve(environment.GetValueOrDefault, "/home/u"), Is.EqualTo("/tmp/k/kernels"));
    }

    [Test]
    public void XdgCacheHome_IsUsedWhenAbsolute()
    {
        var environment = new Dictionary<string, string> { ["XDG_CACHE_HOME"] = "/xdg" };

        Assert.That(KernelCacheDirectory.Resolve(environment.GetValueOrDefault, "/home/u"), Is.EqualTo("/xdg/cudann/kernels"));
    }

    [TestCase("")]
    [TestCase("relative/cache")]
    public void HomeCache_IsTheFallback(string xdg)
    {
        var environment = new Dictionary<string, string> { ["XDG_CACHE_HOME"] = xdg, ["CUDANN_CACHE_DIR"] = "" };

        Assert.That(KernelCacheDirectory.Resolve(environment.GetValueOrDefault, "/home/u"), Is.EqualTo("/home/u/.cache/cudann/kernels"));
    }

    [Test]
    public void NoHomeAndNoVariables_Throws()
    {
        var error = Assert.Throws<InvalidOperationException>(() => KernelCacheDirectory.Resolve(_ => null, ""));

        Assert.That(error!.Message, Does.Contain("CUDANN_CACHE_DIR"));
    }
}
