using CudaNn.Tests.TestSupport;
using CudaNn.Data;

namespace CudaNn.Tests.Nn.Data;

public class MnistDataSetTests
{
    const int Seed = 424242;

    /// <summary>Writes a small random split under the standard names and returns its pixels and labels.</summary>
    static (byte[] Images, byte[] Labels) WriteSplit(TempDirectory dir, string prefix, int count, string ext, int imageCount = -1, byte? badLabel = null)
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        var random = new Random(Seed);
        int images = imageCount < 0 ? count : imageCount;
        var pixels = new byte[images * 4 * 3];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(_ => (byte)random.Next(10)).ToArray();
        if (badLabel is byte b)
            labels[count / 2] = b;
        IdxWriter.Write(dir.File($"{prefix}-images-idx3-ubyte{ext}"), [images, 4, 3], pixels);
        IdxWriter.Write(dir.File($"{prefix}-labels-idx1-ubyte{ext}"), [count], labels);
        return (pixels, labels);
    }

    [TestCase(MnistSplit.Train, "train", "")]
    [TestCase(MnistSplit.Test, "t10k", ".gz")]
    public void Load_StandardNames_ReturnsWrittenSplit(MnistSplit split, string prefix, string ext)
    {
        using var dir = new TempDirectory();
        var (pixels, labels) = WriteSplit(dir, prefix, 17, ext);

        var set = MnistDataSet.Load(dir.Path, split);

        Assert.That((set.Count, set.Rows, set.Cols, set.ImageSize), Is.EqualTo((17, 4, 3, 12)));
        Assert.That(set.Images, Is.EqualTo(pixels));
        Assert.That(set.Labels, Is.EqualTo(labels));
        Assert.That(set.Image(16).ToArray(), Is.EqualTo(pixels[(16 * 12)..]));
    }

    [Test]
    public void Load_PrefersRawFileWhenBothExist()
    {
        // torchvision's MNIST/raw keeps the downloaded .gz beside the extracted file.
        using var dir = new TempDirectory();
        var (pixels, _) = WriteSplit(dir, "train", 5, "");
        IdxWriter.Write(dir.File("train-images-idx3-ubyte.gz"), [1, 1, 1], [9]);

        Assert.That(MnistDataSet.Load(dir.Path, MnistSplit.Train).Images, Is.EqualTo(pixels));
    }

    [Test]
    public void Load_DottedMirrorNames_AreFound()
    {
        using var dir = new TempDirectory();
        IdxWriter.Write(dir.File("t10k-images.idx3-ubyte"), [2, 1, 1], [3, 4]);
        IdxWriter.Write(dir.File("t10k-labels.idx1-ubyte"), [2], [1, 2]);

        Assert.That(MnistDataSet.Load(dir.Path, MnistSplit.Test).Labels, Is.EqualTo(new byte[] { 1, 2 }));
    }

    [Test]
    public void LoadSplits_ImagesOfAnotherSizeInTheTestSplit_NameBothFiles()
    {
        using var dir = new TempDirectory();
        IdxWriter.Write(dir.File("train-images-idx3-ubyte"), [2, 2, 2], new byte[8]);
        IdxWriter.Write(dir.File("train-labels-idx1-ubyte"), [2], [1, 2]);
        IdxWriter.Write(dir.File("t10k-images-idx3-ubyte"), [2, 3, 3], new byte[18]);
        IdxWriter.Write(dir.File("t10k-labels-idx1-ubyte"), [2], [1, 2]);

        var e = Assert.Throws<IdxFormatException>(() => MnistDataSet.LoadSplits(dir.Path));
        Assert.That(e!.Message, Is.EqualTo($"IDX file '{dir.File("t10k-images-idx3-ubyte")}': holds 3x3 images but training images file " +
            $"'{dir.File("train-images-idx3-ubyte")}' holds 2x2; one model cannot take both"));
    }

    [Test]
    public void Load_CountMismatch_NamesBothFiles()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir, "train", 10, ".gz", imageCount: 11);

        var e = Assert.Throws<IdxFormatException>(() => MnistDataSet.Load(dir.Path, MnistSplit.Train));

        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(dir.File("train-labels-idx1-ubyte.gz")));
        Assert.That(e.Message, Does.Contain(dir.File("train-images-idx3-ubyte.gz")));
        Assert.That(e.Message, Does.Contain("holds 10 labels").And.Contain("holds 11 images"));
    }

    [TestCase((byte)10)]
    [TestCase((byte)255)]
    public void Load_LabelOutOfRange_NamesLabelAndIndex(byte label)
    {
        using var dir = new TempDirectory();
        WriteSplit(dir, "t10k", 10, "", badLabel: label);

        var e = Assert.Throws<IdxFormatException>(() => MnistDataSet.Load(dir.Path, MnistSplit.Test));

        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(dir.File("t10k-labels-idx1-ubyte")));
        Assert.That(e.Message, Does.Contain($"label {label} at index 5 is outside 0..9"));
    }

    [Test]
    public void Load_ImagesFileWithWrongRank_SaysSo()
    {
        using var dir = new TempDirectory();
        IdxWriter.Write(dir.File("train-images-idx3-ubyte"), [2, 6], new byte[12]);
        IdxWriter.Write(dir.File("train-labels-idx1-ubyte"), [2], [0, 1]);

        var e = Assert.Throws<IdxFormatException>(() => MnistDataSet.Load(dir.Path, MnistSplit.Train));

        Assert.That(e.Message, Does.Contain(dir.File("train-images-idx3-ubyte")).And.Contain("has 2 (2 x 6)"));
    }

    [Test]
    public void Load_MissingLabels_ListsEveryNameLookedFor()
    {
        using var dir = new TempDirectory();
        IdxWriter.Write(dir.File("train-images-idx3-ubyte.gz"), [1, 1, 1], [0]);

        var e = Assert.Throws<FileNotFoundException>(() => MnistDataSet.Load(dir.Path, MnistSplit.Train));

        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(dir.Path).And.Contain("train labels"));
        foreach (string name in MnistFiles.CandidateNames(MnistSplit.Train, labels: true))
            Assert.That(e.Message, Does.Contain(name));
    }

    [Test]
    public void Load_MissingDirectory_NamesIt()
    {
        string missing = Path.Combine(Path.GetTempPath(), "cudann-no-such-dir-" + Guid.NewGuid().ToString("N"));

        var e = Assert.Throws<DirectoryNotFoundException>(() => MnistDataSet.Load(missing, MnistSplit.Test));

        Assert.That(e.Message, Does.Contain(missing));
    }

    [Test]
    public void Constructor_RejectsMismatchedSizesAndLabels()
    {
        Assert.Throws<ArgumentException>(() => new MnistDataSet(new byte[11], new byte[1], 3, 4));
        var e = Assert.Throws<ArgumentException>(() => new MnistDataSet(new byte[24], [0, 10], 3, 4));
        Assert.That(e.Message, Does.Contain("Label 10 at index 1"));
    }
}
