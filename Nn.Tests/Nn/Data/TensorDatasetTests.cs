using CudaNn.Data;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Data;

/// <summary>TensorDataset from CSV and IDX files: the values read exactly, and every malformed file named with its line and column.</summary>
public class TensorDatasetTests
{
    [Test]
    public void Csv_TargetColumnByName_TheRestAreFeatures_InFileOrder()
    {
        using var dir = new TempDirectory();
        string path = dir.File("houses.csv");
        File.WriteAllText(path, "rooms, price ,age\n3,250.5,10\n\n4,1e3,-2.5\n");
        var data = TensorDataset.FromCsv(path, "price");
        Assert.That(data.Count, Is.EqualTo(2), "the blank line is skipped");
        Assert.That(data.FeatureShape, Is.EqualTo(new[] { 2, 2 }));
        Assert.That(data.TargetShape, Is.EqualTo(new[] { 2, 1 }));
        Assert.That(data.TargetType, Is.EqualTo(DType.Float32));
        using var loader = DataLoader.FromDataset(data, batchSize: 2);
        var (x, y) = loader.First();
        Assert.That(x.ToArray<float>(), Is.EqualTo(new[] { 3f, 10f, 4f, -2.5f }));
        Assert.That(y.ToArray<float>(), Is.EqualTo(new[] { 250.5f, 1000f }));

        var labelled = TensorDataset.FromCsv(path, "rooms", labels: true);
        Assert.That(labelled.TargetType, Is.EqualTo(DType.Int32));
        Assert.That(labelled.TargetShape, Is.EqualTo(new[] { 2 }));
    }

    // Excel and R quote numbers and names ("1", "age"); RFC 4180's quotes come off, "" standing for one quote.
    [Test]
    public void Csv_QuotedCells_ReadAsTheirValues()
    {
        using var dir = new TempDirectory();
        string plain = dir.File("plain.csv"), quoted = dir.File("quoted.csv");
        File.WriteAllText(plain, "rooms,price,age\n3,250.5,10\n4,1e3,-2.5\n");
        File.WriteAllText(quoted, "\"rooms\",\"price\", \"age\"\r\n\"3\",\"250.5\",10\r\n4, \"1e3\",\"-2.5\"\r\n");
        var a = TensorDataset.FromCsv(plain, "price");
        var b = TensorDataset.FromCsv(quoted, "price");
        using var la = DataLoader.FromDataset(a, batchSize: 2);
        using var lb = DataLoader.FromDataset(b, batchSize: 2);
        var (xa, ya) = la.First();
        var (xb, yb) = lb.First();
        Assert.That(xb.ToArray<float>(), Is.EqualTo(xa.ToArray<float>()));
        Assert.That(yb.ToArray<float>(), Is.EqualTo(ya.ToArray<float>()));
        Assert.That(TensorDataset.SplitCells("\"say \"\"hi\"\"\",2", "f", 1), Is.EqualTo(new[] { "say \"hi\"", "2" }));
    }

    [TestCase("a,b\n1,2\n", "c", "no column 'c'; the header has a, b")]
    [TestCase("a,b\n1,x\n", "a", "houses.csv:2: column 'b' holds 'x', not a finite number")]
    [TestCase("a,b\n1,2\n3\n", "a", "houses.csv:3: 1 cells where the header has 2")]
    [TestCase("a,b\n1,NaN\n", "a", "column 'b' holds 'NaN', not a finite number")]
    [TestCase("a,b\n", "a", "no rows after the header")]
    [TestCase("", "a", "the file is empty")]
    [TestCase("a\n1\n", "a", "there are no features")]
    [TestCase("x1,y,x2,x1\n1,2,3,4\n", "y", "houses.csv: columns 1 and 4 are both named 'x1'; each column needs its own name")]
    [TestCase("x, y ,y\n1,2,3\n", "x", "houses.csv: columns 2 and 3 are both named 'y'")]
    [TestCase("a,b\n\"1,5\",2\n", "a", "houses.csv:2: column 'a' holds '1,5', not a finite number")]
    [TestCase("a,b\n\"1,2\n", "a", "houses.csv:2: a quoted cell is not closed")]
    public void Csv_BadFile_IsReportedWithWhereAndWhat(string text, string target, string message)
    {
        using var dir = new TempDirectory();
        string path = dir.File("houses.csv");
        File.WriteAllText(path, text);
        Assert.That(Assert.Throws<FormatException>(() => TensorDataset.FromCsv(path, target))!.Message, Does.Contain(message));
    }

    [Test]
    public void Csv_TooManyColumns_IsRefusedFromTheHeader()
    {
        using var dir = new TempDirectory();
        string path = dir.File("wide.csv");
        File.WriteAllText(path, string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"c{i}")) + "\n");
        var e = Assert.Throws<FormatException>(() => TensorDataset.FromCsv(path, "c0"));
        Assert.That(e!.Message, Is.EqualTo($"{path}: the header has 20,000 columns, more than the 10,000 a CSV file may have"));
    }

    [Test]
    public void Csv_AHugeLine_IsRefusedAfterTheLimit_AndQuotedShort()
    {
        // 16 MB without a line break: read whole, it would be quoted whole in the message about the missing column.
        using var dir = new TempDirectory();
        string path = dir.File("one-line.csv");
        File.WriteAllText(path, new string('a', 16 << 20));
        var e = Assert.Throws<FormatException>(() => TensorDataset.FromCsv(path, "target"));
        Assert.That(e!.Message, Is.EqualTo($"{path}:1: the line is longer than the 1,048,576 characters a CSV line may have"));

        // Within the limits, a long header is still quoted short when the target is not in it.
        File.WriteAllText(path, string.Join(",", Enumerable.Range(0, 5_000).Select(i => $"column{i}")) + "\n1\n");
        e = Assert.Throws<FormatException>(() => TensorDataset.FromCsv(path, "target"));
        Assert.That(e!.Message, Does.Contain("the header has column0, column1, ").And.Contain("... (").And.Length.LessThan(400));
    }

    [Test]
    public void Csv_LabelsMustBeWholeNumbers_AndAMissingFileIsNamed()
    {
        using var dir = new TempDirectory();
        string path = dir.File("c.csv");
        File.WriteAllText(path, "x,label\n0.5,1.5\n");
        Assert.That(Assert.Throws<FormatException>(() => TensorDataset.FromCsv(path, "label", labels: true))!.Message,
            Does.Contain("c.csv:2: column 'label' holds '1.5', not a class label"));
        Assert.That(Assert.Throws<FileNotFoundException>(() => TensorDataset.FromCsv(dir.File("none.csv"), "x"))!.Message, Does.Contain("none.csv"));
    }

    [Test]
    public void Split_DrawsTheTestRowsByTheGenerator_AndKeepsEachSidesOrder()
    {
        float[] features = Enumerable.Range(0, 20).Select(i => (float)i).ToArray();
        var data = new TensorDataset(features, [10, 2], Enumerable.Range(0, 10).ToArray());
        var (train, test) = data.Split(0.3, new Generator(4));
        Assert.That((train.Count, test.Count), Is.EqualTo((7, 3)));
        int[] testRows = new Generator(4).Permutation(10).Take(3).Order().ToArray();
        using var loader = DataLoader.FromDataset(test, batchSize: 3);
        var (x, y) = loader.First();
        Assert.That(y.ToArray<int>(), Is.EqualTo(testRows), "the permutation's first three rows, in file order");
        Assert.That(x.ToArray<float>(), Is.EqualTo(testRows.SelectMany(r => new[] { 2f * r, 2f * r + 1 })));
        using var trainLoader = DataLoader.FromDataset(train, batchSize: 7);
        Assert.That(trainLoader.First().Y.ToArray<int>(), Is.EqualTo(Enumerable.Range(0, 10).Except(testRows)));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Split(1.0, new Generator(4)));
        Assert.That(Assert.Throws<ArgumentException>(() => data.Split(0.01, new Generator(4)))!.Message, Does.Contain("leaves no test rows"));
    }

    [Test]
    public void Idx_FeaturesOfAnyShape_WithOneLabelEach()
    {
        using var dir = new TempDirectory();
        IdxWriter.Write(dir.File("x.idx"), [3, 2, 2], Enumerable.Range(0, 12).Select(i => (byte)(i * 20)).ToArray());
        IdxWriter.Write(dir.File("y.idx"), [3], [7, 0, 255]);
        var data = TensorDataset.FromIdx(dir.File("x.idx"), dir.File("y.idx"));
        Assert.That(data.FeatureShape, Is.EqualTo(new[] { 3, 2, 2 }));
        using var loader = DataLoader.FromDataset(data, batchSize: 3);
        var (x, y) = loader.First();
        Assert.That(x.Shape.ToArray(), Is.EqualTo(new[] { 3, 2, 2 }));
        Assert.That(x.ToArray<float>()[11], Is.EqualTo(220f));
        Assert.That(y.ToArray<int>(), Is.EqualTo(new[] { 7, 0, 255 }));

        IdxWriter.Write(dir.File("short.idx"), [2], [1, 2]);
        Assert.That(Assert.Throws<IdxFormatException>(() => TensorDataset.FromIdx(dir.File("x.idx"), dir.File("short.idx")))!.Message,
            Does.Contain("2 labels for 3 samples"));
    }
}
