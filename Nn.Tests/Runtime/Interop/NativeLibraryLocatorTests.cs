using CudaNn.Cuda;
using CudaNn.Cuda.Interop;

namespace CudaNn.Tests.Runtime.Interop;

/// <summary>The search for CUDA libraries, on machines described by an injected environment.</summary>
public class NativeLibraryLocatorTests
{
    private static NativeLibraryLocator Locator(Dictionary<string, string> environment, string home = "/nonexistent-home") =>
        new(name => environment.GetValueOrDefault(name), home);

    [Test]
    public void Load_DriverOverrideToMissingFile_SaysSoAndTriesNothingElse()
    {
        var locator = Locator(new() { ["CUDANN_CUDA_DRIVER_PATH"] = "/nonexistent/libcuda.so.1" });

        NativeLibraryStatus status = locator.Load(LibraryNames.Spec(LibraryNames.Driver));

        Assert.That(status.IsLoaded, Is.False);
        Assert.That(status.FailureReason, Is.EqualTo("CUDANN_CUDA_DRIVER_PATH=/nonexistent/libcuda.so.1 does not exist"));
    }

    [Test]
    public void Load_OverrideToFileThatIsNotALibrary_GivesTheLoaderMessage()
    {
        string path = Path.GetTempFileName();
        try
        {
            var locator = Locator(new() { ["CUDANN_CUBLAS_PATH"] = path });

            NativeLibraryStatus status = locator.Load(LibraryNames.Spec(LibraryNames.Cublas));

            Assert.That(status.IsLoaded, Is.False);
            Assert.That(status.FailureReason, Does.StartWith($"CUDANN_CUBLAS_PATH={path} could not be loaded: {path}:"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void SearchFolders_ForToolkitLibraries_FollowTheDocumentedOrder()
    {
        var locator = Locator(new() { ["CUDA_PATH"] = "/opt/cuda-a", ["CUDA_HOME"] = "/opt/cuda-b" });

        IReadOnlyList<string?> folders = locator.SearchFolders(LibraryNames.Spec(LibraryNames.Nvrtc));

        Assert.That(folders.Take(3), Is.EqualTo(new[] { "/opt/cuda-a/lib64", "/opt/cuda-b/lib64", "/usr/local/cuda/lib64" }));
        int loaderDefault = folders.ToList().IndexOf(null);
        Assert.That(loaderDefault, Is.GreaterThan(2));
        Assert.That(folders[loaderDefault + 1], Is.EqualTo("/usr/lib/x86_64-linux-gnu"));
    }

    [Test]
    public void SearchFolders_ForTheDriver_SkipToolkitFoldersWhereOnlyStubsLive()
    {
        var locator = Locator(new() { ["CUDA_PATH"] = "/opt/cuda-a" });

        IReadOnlyList<string?> folders = locator.SearchFolders(LibraryNames.Spec(LibraryNames.Driver));

        Assert.That(folders[0], Is.Null, "the loader's default path comes first for the driver");
        Assert.That(folders.OfType<string>(), Has.None.Contains("cuda"));
    }

    [Test]
    public void SearchFolders_IncludeNvidiaWheelsOfAVirtualEnvironment()
    {
        string root = Directory.CreateTempSubdirectory("cudann-venv").FullName;
        try
        {
            string wheelLib = Path.Combine(root, "lib", "python3.12", "site-packages", "nvidia", "cublas", "lib");
            Directory.CreateDirectory(wheelLib);
            var locator = Locator(new() { ["VIRTUAL_ENV"] = root });

            IReadOnlyList<string?> folders = locator.SearchFolders(LibraryNames.Spec(LibraryNames.Cublas));

            Assert.That(folders, Does.Contain(wheelLib));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void SearchFolders_IncludeCuda13WheelsOfThePythonOnPath_BeforeSystemFolders()
    {
        // NVIDIA's CUDA 13 wheels put every library in nvidia/cu13/lib; the environment need not be activated.
        string root = Directory.CreateTempSubdirectory("cudann-path-venv").FullName;
        try
        {
            string bin = Path.Combine(root, "bin");
            string wheelLib = Path.Combine(root, "lib", "python3.12", "site-packages", "nvidia", "cu13", "lib");
            Directory.CreateDirectory(bin);
            Directory.CreateDirectory(wheelLib);
            File.WriteAllText(Path.Combine(bin, "python3"), "");
            var locator = Locator(new() { ["PATH"] = $"/nonexistent/bin:{bin}:/usr/bin" });

            var folders = locator.SearchFolders(LibraryNames.Spec(LibraryNames.Cublas)).ToList();

            Assert.That(folders, Does.Contain(wheelLib));
            Assert.That(folders.IndexOf(wheelLib), Is.GreaterThan(folders.IndexOf(null)), "after the loader's own path");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void SearchFolders_ForTheDriver_IncludeTheContainerDriverFolder()
    {
        var folders = Locator([]).SearchFolders(LibraryNames.Spec(LibraryNames.Driver)).ToList();

        Assert.That(folders, Does.Contain("/usr/local/nvidia/lib64"));
        Assert.That(folders.IndexOf("/usr/local/nvidia/lib64"), Is.GreaterThan(folders.IndexOf(null)));
    }

    [Test]
    public void Load_WithAnOlderDriver_SkipsToolkitLibrariesOfNewerMajorsAndSaysSo()
    {
        var locator = new NativeLibraryLocator(_ => null, "/nonexistent-home", driverCudaMajor: () => 10);

        NativeLibraryStatus status = locator.Load(LibraryNames.Spec(LibraryNames.Nvrtc));

        Assert.That(status.IsLoaded, Is.False);
        Assert.That(status.FailureReason,
            Does.EndWith("libnvrtc.so.13 / libnvrtc.so.12 / libnvrtc.so.11.2 not tried: newer than the driver's CUDA 10"));
    }

    [Test]
    public void Load_WithADriverOfTheSameMajor_TriesThatMajor()
    {
        string root = Directory.CreateTempSubdirectory("cudann-toolkit").FullName;
        try
        {
            // Not a real library: the loader refuses it, and the refusal names the file, which proves it was tried.
            string fake = Path.Combine(root, "lib64", "libcublas.so.13");
            Directory.CreateDirectory(Path.GetDirectoryName(fake)!);
            File.WriteAllText(fake, "not an ELF file");
            var environment = new Dictionary<string, string> { ["CUDA_PATH"] = root };
            var older = new NativeLibraryLocator(environment.GetValueOrDefault, "/nonexistent-home", driverCudaMajor: () => 12);
            var same = new NativeLibraryLocator(environment.GetValueOrDefault, "/nonexistent-home", driverCudaMajor: () => 13);

            NativeLibraryStatus skipped = older.Load(LibraryNames.Spec(LibraryNames.Cublas));
            NativeLibraryStatus tried = same.Load(LibraryNames.Spec(LibraryNames.Cublas));

            Assert.That(skipped.LoadedFrom, Is.Not.EqualTo(fake));
            Assert.That(skipped.FailureReason ?? "", Does.Not.Contain(fake));
            Assert.That(tried.LoadedFrom, Is.Not.EqualTo(fake));
            if (!tried.IsLoaded) Assert.That(tried.FailureReason, Does.Contain(fake));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestCase("libnvrtc.so.13", 13)]
    [TestCase("libnvrtc.so.11.2", 11)]
    [TestCase("libcuda.so.1", 1)]
    [TestCase("libcublas.so", 0)]
    public void MajorVersion_ReadsTheFirstNumberAfterSo(string fileName, int major) =>
        Assert.That(NativeLibraryLocator.MajorVersion(fileName), Is.EqualTo(major));

    [Test]
    public void Load_NvrtcFromAnOverrideFolder_LoadsThatFile()
    {
        string? loaded = NvrtcCompiler.Status.LoadedFrom;
        if (loaded is null || !Path.IsPathRooted(loaded))
            Assert.Ignore($"NVRTC was not loaded from a known folder here ({NvrtcCompiler.Status}).");
        string folder = Path.GetDirectoryName(loaded)!;
        var locator = Locator(new() { ["CUDANN_NVRTC_PATH"] = folder });

        NativeLibraryStatus status = locator.Load(LibraryNames.Spec(LibraryNames.Nvrtc));

        Assert.That(status.IsLoaded, Is.True, status.FailureReason);
        Assert.That(Path.GetDirectoryName(status.LoadedFrom), Is.EqualTo(folder));
    }
}
