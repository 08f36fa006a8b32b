namespace CudaNn.Tests.Kernels;

/// <summary>Files of the source tree the tests compare against (kernels.cu, docs/kernels.md).</summary>
internal static class RepositoryFiles
{
    /// <summary>The directory holding CudaNn.sln, found by walking up from the test assembly.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(System.IO.Path.Combine(directory.FullName, "CudaNn.sln")))
                    return directory.FullName;
            }
            Assert.Ignore($"the source tree (CudaNn.sln) is not above {TestContext.CurrentContext.TestDirectory}");
            throw new InvalidOperationException("Assert.Ignore returned.");
        }
    }

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);
}
