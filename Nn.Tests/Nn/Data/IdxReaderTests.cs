using CudaNn.Tests.TestSupport;
using CudaNn.Data;

namespace CudaNn.Tests.Nn.Data;

public class IdxReaderTests
{
    const int Seed = 20240611;

    static (int[] Dims, byte[] Data) RandomArray(int[] dims)
    {
        TestContext.Out.WriteLine($"seed {Seed}, shape {string.Join("x", dims)}");
        var data = new byte[dims.Aggregate(1, (a, b) => a * b)];
        new Random(Seed).NextBytes(data);
        return (dims, data);
    }

    [TestCase("a.idx", new[] { 7, 5, 3 })]
    [TestCase("a.idx.gz", new[] { 7, 5, 3 })]
    [TestCase("labels.gz", new[] { 1 })]
    [TestCase("big.gz", new[] { 3001, 28, 28 })] // past the reader's first 1 MiB buffer, so it must grow
    [TestCase("big", new[] { 3001, 28, 28 })]
    public void WriteThenRead_ReturnsSameDimensionsAndBytes(string name, int[] shape)
    {
        using var dir = new TempDirectory();
        var (dims, data) = RandomArray(shape);
        string path = dir.File(name);
        IdxWriter.Write(path, dims, data);

        var read = IdxReader.Read(path);

        Assert.That(read.Dimensions, Is.EqualTo(dims));
        Assert.That(read.Data, Is.EqualTo(data));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "temporary file left behind");
    }

    [Test]
    public void Read_DetectsGzipByContentNotByName()
    {
        using var dir = new TempDirectory();
        var (dims, data) = RandomArray([4, 2, 3]);
        string path = dir.Write("no-extension", TempDirectory.Gzip(IdxWriter.Encode(dims, data)));

        Assert.That(IdxReader.Read(path).Data, Is.EqualTo(data));
    }

    [Test]
    public void Encode_WritesBigEndianHeader()
    {
        byte[] bytes = IdxWriter.Encode([2, 300], new byte[600]);

        Assert.That(bytes[..12], Is.EqualTo(new byte[] { 0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 1, 44 }));
    }

    static byte[] Valid() => IdxWriter.Encode([3, 2, 2], [.. Enumerable.Range(0, 12).Select(i => (byte)i)]);

    static byte[] With(byte[] bytes, int index, byte value)
    {
        bytes[index] = value;
        return bytes;
    }

    public static IEnumerable<TestCaseData> BadFiles()
    {
        foreach (string ext in new[] { "", ".gz" })
        {
            yield return new TestCaseData("magic" + ext, With(Valid(), 1, 0x03), "wrong magic number 00030803");
            yield return new TestCaseData("zip" + ext, new byte[] { 0x50, 0x4B, 3, 4, 0, 0, 0, 0 }, "wrong magic number 504B0304");
            yield return new TestCaseData("float" + ext, With(Valid(), 2, 0x0D), "element type 0x0D (float32) is not supported");
            yield return new TestCaseData("type" + ext, With(Valid(), 2, 0x42), "element type 0x42 (not an IDX type)");
            yield return new TestCaseData("rank0" + ext, With(Valid(), 3, 0), "declares 0 dimensions");
            yield return new TestCaseData("rank200" + ext, With(Valid(), 3, 200), "declares 200 dimensions");
            yield return new TestCaseData("dim0" + ext, With(Valid(), 11, 0), "dimension 1 of 3 is 0");
            yield return new TestCaseData("negdim" + ext, With(Valid(), 4, 0x80), "dimension 0 of 3 is 2147483651");
            yield return new TestCaseData("huge" + ext, Huge(), "dimensions 65536 x 65536 declare 4,294,967,296 data bytes, more than the 1,073,741,824 an IDX file may hold");
            yield return new TestCaseData("tiny" + ext, new byte[] { 0, 0 }, "only 2 bytes");
            yield return new TestCaseData("header" + ext, Valid()[..10], "truncated in the header");
            yield return new TestCaseData("short" + ext, Valid()[..^1], "truncated: its header declares 3 x 2 x 2 = 12 data bytes, but only 11");
            yield return new TestCaseData("empty-data" + ext, Valid()[..16], "but only 0 follow");
        }
        yield return new TestCaseData("trailing", (byte[])[.. Valid(), 7, 7], "2 trailing bytes after the 12 data bytes");
        yield return new TestCaseData("trailing.gz", (byte[])[.. Valid(), 7, 7], "decompressed data continues past the 12 data bytes");
        yield return new TestCaseData("claims-8MB.gz", ClaimsEightMegabytes(), "gzip file can hold at most");
        yield return new TestCaseData("claims-8MB", ClaimsEightMegabytes(), "but only 1 follow");
    }

    // 65536 x 65536: each dimension is legal, the product is not.
    static byte[] Huge() => [0, 0, 8, 2, 0, 1, 0, 0, 0, 1, 0, 0];

    // One data byte under a header claiming 2^23 - 1: far more than a tiny gzip file can expand to.
    static byte[] ClaimsEightMegabytes() => [0, 0, 8, 1, 0, 0x7F, 0xFF, 0xFF, 0];

    [Test]
    public void AGzipClaimingGigabytes_IsRefusedFromItsHeaderBeforeInflating()
    {
        // 2.5 million 28x28 images (1.96 GB) declared in front of 2 MB of incompressible bytes: a 2 MB gzip file could
        // expand to that much, so only the limit on declared data stops it before a gigabyte buffer is filled.
        var tail = new byte[2 << 20];
        new Random(20261207).NextBytes(tail);
        byte[] header = [0, 0, 8, 3, .. BigEndian(2_500_000), .. BigEndian(28), .. BigEndian(28)];
        using var dir = new TempDirectory();
        string path = dir.Write("train-images-idx3-ubyte.gz", [.. header, .. tail]);
        Assert.That(new FileInfo(path).Length * 1032, Is.GreaterThan(2_500_000L * 784), "the file's size alone does not rule it out");

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));
        Assert.That(e!.Message, Does.Contain("dimensions 2500000 x 28 x 28 declare 1,960,000,000 data bytes, more than the 1,073,741,824 an IDX file may hold"));
    }

    static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    [TestCaseSource(nameof(BadFiles))]
    public void Read_BadFile_ThrowsNamingFileAndProblem(string name, byte[] contents, string problem)
    {
        using var dir = new TempDirectory();
        string path = dir.Write(name, contents);

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(path));
        Assert.That(e.Message, Does.Contain(problem));
        Assert.That(e.FilePath, Is.EqualTo(path));
    }
}
