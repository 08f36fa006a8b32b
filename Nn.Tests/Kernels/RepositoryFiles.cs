namespace CudaNn.Tests.Kernels;

/// <summary>Files of the source tree the tests compare against (kernels.cu, docs/kernels.md, docs/api, the PyTorch references).</summary>
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
            // The tests are built inside the source tree and run from there (the GPU runner too): not finding it is a fault.
            throw new DirectoryNotFoundException($"the source tree (CudaNn.sln) is not above {TestContext.CurrentContext.TestDirectory}");
        }
    }

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);
}
