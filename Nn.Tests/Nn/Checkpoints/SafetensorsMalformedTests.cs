using System.Buffers.Binary;
using System.Text;
using CudaNn.Checkpoints;

namespace CudaNn.Tests.Nn.Checkpoints;

/// <summary>Each way a file can be malformed gives a CheckpointFormatException naming the source and the problem.</summary>
public class SafetensorsMalformedTests
{
    private const string Source = "bad.safetensors";

    /// <summary>A file with the given header text (length prefix computed unless overridden) and buffer size.</summary>
    internal static byte[] FileWith(string json, int bufferLength, ulong? declaredHeaderLength = null) =>
        FileWith(Encoding.UTF8.GetBytes(json), bufferLength, declaredHeaderLength);

    internal static byte[] FileWith(byte[] json, int bufferLength, ulong? declaredHeaderLength = null)
    {
        var bytes = new byte[8 + json.Length + bufferLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredHeaderLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    private static string Tensor(string name, string dtype, string shape, string offsets) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    private static IEnumerable<TestCaseData> Cases()
    {
        string a8 = Tensor("a", "F32", "[2]", "[0,8]");
        TestCaseData Case(string name, byte[] file, string problem) => new TestCaseData(file, problem).SetName($"Read_Rejects_{name}");

        yield return Case("FileShorterThanLengthPrefix", [1, 0, 0], "has 3 bytes, fewer than the 8-byte header length");
        yield return Case("HeaderLength2Pow60", FileWith("{" + a8 + "}", 8, 1UL << 60), "header length 1152921504606846976 exceeds the 100000000-byte limit");
        yield return Case("HeaderLengthMaxULong", FileWith("{}", 0, ulong.MaxValue), "exceeds the 100000000-byte limit");
        yield return Case("HeaderLongerThanFile", FileWith("{" + a8 + "}", 8, 1000), "header length 1000 is larger than the");
        yield return Case("EmptyHeader", FileWith("", 0), "header does not start with '{'");
        yield return Case("InvalidUtf8", FileWith([(byte)'{', 0xC3, 0x28, (byte)'}'], 0), "header is not valid UTF-8");
        yield return Case("HeaderNotAnObject", FileWith("[1,2]", 0), "header does not start with '{'");
        yield return Case("TruncatedJson", FileWith("{\"a\":{\"dtype\":", 0), "header is not valid JSON");
        yield return Case("GarbageAfterObject", FileWith("{} x", 0), "header is not valid JSON");
        yield return Case("TwoObjects", FileWith("{}{}", 0), "header is not valid JSON");
        yield return Case("Comment", FileWith("{/*c*/}", 0), "header is not valid JSON");
        yield return Case("TrailingComma", FileWith("{" + a8 + ",}", 8), "header is not valid JSON");
        yield return Case("EntryNotAnObject", FileWith("{\"a\":[1]}", 0), "tensor 'a': entry is a StartArray, not an object");
        yield return Case("UnknownDtype", FileWith("{" + Tensor("a", "F8", "[2]", "[0,2]") + "}", 2), "tensor 'a': unknown dtype 'F8'");
        yield return Case("LowercaseDtype", FileWith("{" + Tensor("a", "f32", "[2]", "[0,8]") + "}", 8), "unknown dtype 'f32'");
        yield return Case("DtypeNotString", FileWith("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "dtype is a Number, not a string");
        yield return Case("NegativeDimension", FileWith("{" + Tensor("a", "F32", "[-2]", "[0,8]") + "}", 8), "tensor 'a': shape holds -2, not a non-negative integer");
        yield return Case("FractionalDimension", FileWith("{" + Tensor("a", "F32", "[1.5]", "[0,8]") + "}", 8), "shape holds 1.5");
        yield return Case("ExponentDimension", FileWith("{" + Tensor("a", "F32", "[2e0]", "[0,8]") + "}", 8), "shape holds 2e0");
        yield return Case("StringDimension", FileWith("{" + Tensor("a", "F32", "[\"2\"]", "[0,8]") + "}", 8), "shape holds String");
        yield return Case("ShapeNotArray", FileWith("{" + Tensor("a", "F32", "2", "[0,8]") + "}", 8), "shape is a Number, not an array");
        yield return Case("DimensionBeyondLong", FileWith("{" + Tensor("a", "U8", "[9223372036854775808]", "[0,8]") + "}", 8), "shape dimension 9223372036854775808 is too large");
        yield return Case("ShapeProductOverflows", FileWith("{" + Tensor("a", "F32", "[4294967296,4294967296,4]", "[0,8]") + "}", 8), "overflows a 64-bit byte count");
        yield return Case("ByteLengthMismatch", FileWith("{" + Tensor("a", "F32", "[3]", "[0,8]") + "}", 8), "tensor 'a': F32 shape [3] needs 12 bytes but data_offsets [0, 8] hold 8");
        yield return Case("OffsetsReversed", FileWith("{" + Tensor("a", "F32", "[2]", "[8,0]") + "}", 8), "data_offsets [8, 0] end before they begin");
        yield return Case("OneOffset", FileWith("{" + Tensor("a", "F32", "[2]", "[8]") + "}", 8), "data_offsets has 1 numbers, not [begin, end]");
        yield return Case("NegativeOffset", FileWith("{" + Tensor("a", "F32", "[2]", "[-8,0]") + "}", 8), "data_offsets holds -8");
        yield return Case("OffsetBeyond2Pow64", FileWith("{" + Tensor("a", "U8", "[1]", "[18446744073709551616,18446744073709551617]") + "}", 1), "not a non-negative integer below 2^64");
        yield return Case("OffsetsHuge", FileWith("{" + Tensor("a", "U8", "[1]", "[18446744073709551614,18446744073709551615]") + "}", 1), "lie beyond any possible file");
        yield return Case("OffsetsPastBuffer", FileWith("{" + Tensor("a", "U8", "[8]", "[100,108]") + "}", 8), "tensor 'a': data_offsets [100, 108] run past the 8-byte data buffer");
        yield return Case("Overlap", FileWith("{" + a8 + "," + Tensor("b", "F32", "[2]", "[4,12]") + "}", 12), "tensor 'b': data_offsets [4, 12] overlap tensor 'a' ending at 8");
        yield return Case("SameRangeTwice", FileWith("{" + a8 + "," + Tensor("b", "F32", "[2]", "[0,8]") + "}", 8), "overlap tensor 'a'");
        yield return Case("Hole", FileWith("{" + Tensor("a", "F32", "[1]", "[0,4]") + "," + Tensor("b", "F32", "[1]", "[8,12]") + "}", 12), "tensor 'b': bytes [4, 8) between tensor 'a' and it belong to no tensor");
        yield return Case("HoleAtStart", FileWith("{" + Tensor("a", "F32", "[1]", "[4,8]") + "}", 8), "between the start of the buffer and it");
        yield return Case("TrailingBytes", FileWith("{" + a8 + "}", 9), "data buffer has 9 bytes but the tensors cover only the first 8");
        yield return Case("DataWithoutTensors", FileWith("{}", 4), "data buffer has 4 bytes but the tensors cover only the first 0");
        yield return Case("DuplicateName", FileWith("{" + a8 + "," + Tensor("a", "F32", "[2]", "[8,16]") + "}", 16), "header names 'a' more than once");
        yield return Case("DuplicateNameViaEscape", FileWith("{" + a8 + "," + Tensor("\\u0061", "F32", "[2]", "[8,16]") + "}", 16), "header names 'a' more than once");
        yield return Case("DuplicateField", FileWith("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "field 'dtype' appears more than once");
        yield return Case("MissingField", FileWith("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "tensor 'a': missing field 'data_offsets'");
        yield return Case("UnknownField", FileWith("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8), "unknown field 'x'");
        yield return Case("EmptyName", FileWith("{" + Tensor("", "F32", "[2]", "[0,8]") + "}", 8), "empty name");
        yield return Case("LoneSurrogateName", FileWith("{" + Tensor("\\ud800", "F32", "[2]", "[0,8]") + "}", 8), "not valid Unicode");
        yield return Case("MetadataNotObject", FileWith("{\"__metadata__\":[\"pt\"]}", 0), "__metadata__ is a StartArray, not an object of strings");
        yield return Case("MetadataValueNumber", FileWith("{\"__metadata__\":{\"epoch\":3}}", 0), "__metadata__ value of 'epoch' is a Number, not a string");
        yield return Case("MetadataValueObject", FileWith("{\"__metadata__\":{\"x\":{}}}", 0), "value of 'x' is a StartObject");
        yield return Case("MetadataDuplicateKey", FileWith("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), "__metadata__ names 'k' more than once");
        yield return Case("MetadataTwice", FileWith("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "header names '__metadata__' more than once");
        yield return Case("DeepNesting", FileWith("{\"a\":{\"shape\":" + new string('[', 5000) + "}}", 0), "shape holds StartArray");
    }

    [TestCaseSource(nameof(Cases))]
    public void Read_RejectsMalformedFile(byte[] file, string problem)
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Read(file, Source));
        Assert.That(ex.Message, Does.StartWith(Source + ": "));
        Assert.That(ex.Problem, Does.Contain(problem));
        using var stream = new MemoryStream(file);
        var fromStream = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Read(stream, Source));
        Assert.That(fromStream.Message, Is.EqualTo(ex.Message), "stream and span readers agree");
    }

    [Test]
    public void Read_AcceptsEdgeCasesTheFormatAllows()
    {
        // Whitespace padding, metadata null, zero-length tensors sharing an offset, scalar shape, any key order.
        string json = "{ \"__metadata__\" : null , \"z\":{\"data_offsets\":[0,0],\"shape\":[0],\"dtype\":\"F64\"},"
            + "\"y\":{\"shape\":[],\"dtype\":\"U8\",\"data_offsets\":[0,1]} }\t\n\r   ";
        SafetensorsFile file = SafetensorsReader.Read(FileWith(json, 1), Source);
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "z", "y" }));
        Assert.That(file.Get("y").Shape, Is.Empty);
        Assert.That(file.Get("y").ElementCount, Is.EqualTo(1));
        Assert.That(file.Metadata, Is.Empty);
    }

    [Test]
    public void ReadPath_NamesTheFile_AndMissingFileIsFileNotFound()
    {
        string path = Path.Combine(Path.GetTempPath(), $"cudann-truncated-{Guid.NewGuid():N}.safetensors");
        byte[] good = SafetensorsWriter.ToBytes([SafetensorsEntry.FromFloats("w", [4], [1, 2, 3, 4])]);
        File.WriteAllBytes(path, good[..^3]);
        try
        {
            var ex = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Read(path));
            Assert.That(ex.Message, Does.StartWith(path + ": "));
            Assert.That(ex.SourceName, Is.EqualTo(path));
            Assert.That(ex, Is.InstanceOf<FormatException>());
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<FileNotFoundException>(() => SafetensorsReader.Read(path));
    }

    [Test]
    public void ReadStream_RequiresSeekableStream()
    {
        using var pipe = new NonSeekableStream();
        Assert.Throws<ArgumentException>(() => SafetensorsReader.Read(pipe, "pipe"));
    }

    private sealed class NonSeekableStream : MemoryStream
    {
        public override bool CanSeek => false;
    }
}
