using CudaNn.Tests.TestSupport;
using CudaNn.Data;

namespace CudaNn.Tests.Nn.Data;

/// <summary>Damage to the compressed bytes themselves, as opposed to a well-formed gzip of a bad IDX file.</summary>
public class IdxGzipStreamTests
{
    const int Seed = 7340033;

    static byte[] CompressedRandomImages()
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        var pixels = new byte[50 * 28 * 28];
        new Random(Seed).NextBytes(pixels);
        return TempDirectory.Gzip(IdxWriter.Encode([50, 28, 28], pixels));
    }

    [TestCase(0.5)]
    [TestCase(0.99)]
    public void Read_GzipCutShort_ThrowsNamingFile(double keptFraction)
    {
        using var dir = new TempDirectory();
        byte[] gz = CompressedRandomImages();
        string path = dir.Write("cut.bin", gz[..(int)(gz.Length * keptFraction)]);

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(path));
        Assert.That(e.Message, Does.Contain("truncated").Or.Contain("corrupt gzip stream"));
    }

    [Test]
    public void Read_GzipMissingOnlyItsTrailer_ThrowsNamingFile()
    {
        // All data decompresses; only the CRC32 and length at the end are gone.
        using var dir = new TempDirectory();
        byte[] gz = CompressedRandomImages();
        string path = dir.Write("no-trailer.bin", gz[..^8]);

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(path));
        Assert.That(e.Message, Does.Contain("gzip stream is truncated"));
    }

    [TestCase(200, "garbled-data.bin")]
    [TestCase(-8, "bad-crc.bin")]
    [TestCase(-1, "bad-length.bin")]
    public void Read_GzipWithDamagedByte_ThrowsCorruptGzip(int offset, string name)
    {
        // Random pixels do not compress, so byte 200 lies inside a stored block's payload: only
        // the CRC-32 in the trailer can reveal the change.
        using var dir = new TempDirectory();
        byte[] gz = CompressedRandomImages();
        gz[offset >= 0 ? offset : gz.Length + offset] ^= 0x5A;
        string path = dir.Write(name, gz);

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        TestContext.Out.WriteLine(e.Message);
        Assert.That(e.Message, Does.Contain(path));
        Assert.That(e.Message, Does.Contain("gzip"));
    }
}
