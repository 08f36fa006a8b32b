using System.Security.Cryptography;
using CudaNn.Data;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Data;

/// <summary>The digits in data/mnist-10k and the table in data/tabular are exactly the ones data/README.md describes.</summary>
public class ShippedDataTests
{
    // CUDANN_DATA is ignored here: these tests are about the files in the repository.
    static string ShippedDirectory => DefaultData.Locate(null, AppContext.BaseDirectory);

    // From data/README.md (printed by scripts/make-mnist-10k.py).
    static readonly int[] TrainClassCounts = [787, 915, 786, 825, 776, 701, 824, 858, 760, 768];
    static readonly int[] TestClassCounts = [214, 212, 205, 207, 204, 162, 190, 212, 184, 210];

    [TestCase(MnistSplit.Train, 8000)]
    [TestCase(MnistSplit.Test, 2000)]
    public void Load_ShippedSplit_HasDocumentedShapeAndClassCounts(MnistSplit split, int count)
    {
        var set = MnistDataSet.Load(ShippedDirectory, split);

        Assert.That((set.Count, set.Rows, set.Cols), Is.EqualTo((count, 28, 28)));
        var counts = new int[MnistDataSet.ClassCount];
        foreach (byte label in set.Labels)
            counts[label]++;
        Assert.That(counts, Is.EqualTo(split == MnistSplit.Train ? TrainClassCounts : TestClassCounts));
        // Real digits: mostly black background, every image with ink at (almost) full intensity
        // (MNIST's anti-aliasing leaves some digits peaking at 254).
        for (int i = 0; i < set.Count; i++)
            Assert.That(set.Image(i).IndexOfAnyInRange((byte)254, (byte)255), Is.GreaterThanOrEqualTo(0), $"image {i} has no full-intensity pixel");
        Assert.That(set.Images.Count(p => p == 0), Is.GreaterThan(set.Images.Length * 3 / 4));
    }

    [TestCase("train-images-idx3-ubyte", "61de9db52bc4a902bfef39c72a2aa204eb49222ccd1e06d4dc64978b8827eb5f", "d9a0f475b34ab329501a841c8005608bbf95b01119edc6641d7ea1857997755c")]
    [TestCase("train-labels-idx1-ubyte", "572357acda1b410da32fd67c250c7779ebe39543c9f57d22b7fc0be1181db96a", "bbf949a0d4d8c2bcfaa25788adeaec978cec57e7c963342ab3383d38a66d8697")]
    [TestCase("t10k-images-idx3-ubyte", "9f73252d04acbf9be4df6ba845896e5bb0c80df8d13db5ce13e9ae25e07c4a24", "41c835a40c53935bb3c7c0c0c09331d3fc97f3686001d060d51f5465815f3bcc")]
    [TestCase("t10k-labels-idx1-ubyte", "19dd3c30c0c32e479244451c0bc34d4aeadac0e2e182e616443988275136ca3d", "f96e93c05559ea8a12a5483438da2b4da175c8bde30ec2d82c88e1a4c2d3feca")]
    public void ShippedFile_MatchesDocumentedSha256(string name, string idxSha256, string gzSha256)
    {
        string path = Path.Combine(ShippedDirectory, name + ".gz");

        var read = IdxReader.Read(path);
        string idx = Convert.ToHexStringLower(SHA256.HashData(IdxWriter.Encode(read.Dimensions, read.Data)));
        string gz = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

        Assert.That(idx, Is.EqualTo(idxSha256), "decoded IDX bytes");
        Assert.That(gz, Is.EqualTo(gzSha256), "compressed file");
    }

    [Test]
    public void ProgressionTable_MatchesItsDescription()
    {
        string path = ReferenceFiles.InRepository("data/tabular/progression.csv");
        Assert.That(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))),
            Is.EqualTo("baae003dcf4201a9b5e36da8426dcfaee1c653d17acca940bfa89437a1c72e56"), "the bytes make_progression.py writes");
        var rows = TensorDataset.FromCsv(path, "progression");
        Assert.That((rows.Count, rows.FeatureShape[1]), Is.EqualTo((442, 10)));
        var targets = Standardizer.Fit(rows, targets: true);
        Assert.That(targets.TargetMean![0], Is.EqualTo(157.6).Within(0.05), "the target's mean");
        Assert.That(targets.TargetScale![0], Is.EqualTo(81.0).Within(0.05), "the target's standard deviation");
        Assert.That((((float[])rows.Targets).Min(), ((float[])rows.Targets).Max()), Is.EqualTo((25f, 346f)), "the target's range");
    }
}
