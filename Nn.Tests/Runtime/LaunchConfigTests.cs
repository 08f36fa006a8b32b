using CudaNn.Cuda;

namespace CudaNn.Tests.Runtime;

public class LaunchConfigTests
{
    [TestCase(1, 256, 1)]
    [TestCase(256, 256, 1)]
    [TestCase(257, 256, 2)]
    [TestCase(6 * 512 + 7, 512, 7)]
    public void For1D_CoversEveryElementWithTheFewestBlocks(long n, int block, int expectedBlocks)
    {
        LaunchConfig config = LaunchConfig.For1D(n, block);

        Assert.That(config.Grid, Is.EqualTo(new Dim3(expectedBlocks)));
        Assert.That(config.Block, Is.EqualTo(new Dim3(block)));
        Assert.That(config.Grid.Count * config.Block.Count, Is.GreaterThanOrEqualTo(n));
        Assert.That((config.Grid.Count - 1) * config.Block.Count, Is.LessThan(n));
    }

    [Test]
    public void For1D_RejectsEmptyWork()
    {
        Assert.That(() => LaunchConfig.For1D(0), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("n"));
    }

    [Test]
    public void Validated_RejectsBlocksOverTheThreadLimit()
    {
        var config = new LaunchConfig(1, new Dim3(32, 33));

        Assert.That(() => config.Validated(), Throws.ArgumentException.With.Message.Contains("(32, 33, 1)").And.Message.Contains("1024"));
    }

    [Test]
    public void Validated_RejectsGridYOver65535()
    {
        Assert.That(() => new LaunchConfig(new Dim3(1, 65536), 32).Validated(), Throws.ArgumentException.With.Message.Contains("65535"));
    }

    [Test]
    public void Validated_RejectsNegativeSharedMemory()
    {
        Assert.That(() => new LaunchConfig(1, 32, -4).Validated(), Throws.ArgumentException.With.Message.Contains("-4"));
    }
}
