using CudaNn.Tests.TestSupport;
using CudaNn.Data;

namespace CudaNn.Tests.Nn.Data;

public class DefaultDataTests
{
    [Test]
    public void Locate_WalksUpToDataMnist10k()
    {
        using var root = new TempDirectory();
        string data = Directory.CreateDirectory(Path.Combine(root.Path, "data", "mnist-10k")).FullName;
        string deep = Directory.CreateDirectory(Path.Combine(root.Path, "src", "bin", "Release")).FullName;

        Assert.That(DefaultData.Locate(null, deep), Is.EqualTo(data));
    }

    [Test]
    public void Locate_EnvironmentValueWins()
    {
        using var root = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(root.Path, "data", "mnist-10k"));
        string other = Directory.CreateDirectory(Path.Combine(root.Path, "fashion")).FullName;

        Assert.That(DefaultData.Locate(other, root.Path), Is.EqualTo(other));
    }

    [Test]
    public void Locate_EnvironmentValueMissing_NamesVariableAndPath()
    {
        using var root = new TempDirectory();
        string missing = Path.Combine(root.Path, "nope");

        var e = Assert.Throws<DirectoryNotFoundException>(() => DefaultData.Locate(missing, root.Path));

        Assert.That(e.Message, Does.Contain("CUDANN_DATA").And.Contain(missing));
    }

    [Test]
    public void Locate_NothingFound_SaysWhereItLooked()
    {
        using var root = new TempDirectory();

        // The temp folder has no data/mnist-10k above it, unless a machine put one at its root.
        if (Directory.Exists(Path.Combine(Path.GetPathRoot(root.Path)!, "data", "mnist-10k")))
            Assert.Ignore("this machine has a data/mnist-10k at its file-system root");
        var e = Assert.Throws<DirectoryNotFoundException>(() => DefaultData.Locate("", root.Path));

        Assert.That(e.Message, Does.Contain(root.Path).And.Contain("CUDANN_DATA"));
    }
}
