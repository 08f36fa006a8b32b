using CudaNn.Data;

namespace CudaNn.Tests.Nn.Data;

/// <summary>
/// Loads Debian's Fashion-MNIST (apt-get install dataset-fashion-mnist) when it is installed:
/// a full-size data set from a third party, in the same file names. Set
/// CUDANN_REQUIRE_FASHION_MNIST=1 to turn the skip into a failure.
/// </summary>
public class FashionMnistTests
{
    const string DebianPath = "/usr/share/datasets/fashion-mnist";

    static void RequireInstalled()
    {
        if (Directory.Exists(DebianPath))
            return;
        string reason = $"Fashion-MNIST is not installed at {DebianPath} (apt-get install dataset-fashion-mnist)";
        if (Environment.GetEnvironmentVariable("CUDANN_REQUIRE_FASHION_MNIST") == "1")
            Assert.Fail(reason);
        Assert.Ignore(reason);
    }

    // Fashion-MNIST is balanced; the first labels are those of its published files.
    [TestCase(MnistSplit.Train, 60000, new byte[] { 9, 0, 0, 3, 0, 2, 7, 2 })]
    [TestCase(MnistSplit.Test, 10000, new byte[] { 9, 2, 1, 1, 6, 1, 4, 6 })]
    public void Load_DebianFashionMnist_HasPublishedShape(MnistSplit split, int count, byte[] firstLabels)
    {
        RequireInstalled();

        var set = MnistDataSet.Load(DebianPath, split);

        Assert.That((set.Count, set.Rows, set.Cols), Is.EqualTo((count, 28, 28)));
        Assert.That(set.Labels[..firstLabels.Length], Is.EqualTo(firstLabels));
        var counts = new int[MnistDataSet.ClassCount];
        foreach (byte label in set.Labels)
            counts[label]++;
        Assert.That(counts, Is.All.EqualTo(count / 10));
    }
}
