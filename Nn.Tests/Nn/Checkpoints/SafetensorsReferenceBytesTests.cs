using System.Text;
using CudaNn.Checkpoints;

namespace CudaNn.Tests.Nn.Checkpoints;

/// <summary>
/// Byte-exact agreement with the reference safetensors writer. The expected bytes were built by
/// hand from the format's rules, mirroring what Python's
/// <c>safetensors.torch.save_file({"fc1.bias": b, "fc1.weight": w}, path, metadata={"format": "pt"})</c>
/// writes (the reference sorts tensors by dtype, then name, so this order is the one it uses):
/// compact JSON with "__metadata__" first, keys dtype/shape/data_offsets in that order, the JSON
/// padded with spaces to a multiple of 8 (157 bytes + 3 spaces = 160 = 0xA0), then raw float32 bytes.
/// </summary>
public class SafetensorsReferenceBytesTests
{
    private const string ReferenceJson =
        "{\"__metadata__\":{\"format\":\"pt\"}," +
        "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
        "\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}";

    private static byte[] ReferenceFile()
    {
        var bytes = new List<byte> { 0xA0, 0, 0, 0, 0, 0, 0, 0 };
        bytes.AddRange(Encoding.ASCII.GetBytes(ReferenceJson + "   "));
        bytes.AddRange(Convert.FromHexString("0000003f" + "0000a0bf")); // 0.5, -1.25
        bytes.AddRange(Convert.FromHexString("0000803f" + "00000040" + "00004040" + "00008040" + "0000a040" + "0000c040")); // 1..6
        return bytes.ToArray();
    }

    [Test]
    public void Writer_ProducesTheReferenceBytes()
    {
        var tensors = new[]
        {
            SafetensorsEntry.FromFloats("fc1.bias", [2], [0.5f, -1.25f]),
            SafetensorsEntry.FromFloats("fc1.weight", [2, 3], [1f, 2f, 3f, 4f, 5f, 6f]),
        };
        byte[] written = SafetensorsWriter.ToBytes(tensors, new Dictionary<string, string> { ["format"] = "pt" });
        byte[] expected = ReferenceFile();
        Assert.That(ReferenceJson, Has.Length.EqualTo(157), "hand count of the reference header");
        Assert.That(written, Is.EqualTo(expected));
    }

    [Test]
    public void Reader_LoadsTheReferenceBytes()
    {
        SafetensorsFile file = SafetensorsReader.Read(ReferenceFile(), "reference.safetensors");
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "fc1.bias", "fc1.weight" }));
        Assert.That(file.Metadata, Is.EqualTo(new Dictionary<string, string> { ["format"] = "pt" }));
        Assert.That(file.GetFloats("fc1.bias", [2]), Is.EqualTo(new[] { 0.5f, -1.25f }));
        Assert.That(file.GetFloats("fc1.weight", [2, 3]), Is.EqualTo(new[] { 1f, 2f, 3f, 4f, 5f, 6f }));
    }

    /// <summary>
    /// The example file from the reference implementation's documentation: a 60-byte ('&lt;')
    /// header without padding (older writers did not pad), I32 [2,2] of zeros.
    /// </summary>
    [Test]
    public void Reader_LoadsUnpaddedHeaderFromReferenceDocumentation()
    {
        var bytes = new List<byte> { (byte)'<', 0, 0, 0, 0, 0, 0, 0 };
        bytes.AddRange(Encoding.ASCII.GetBytes("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"));
        bytes.AddRange(new byte[16]);
        SafetensorsFile file = SafetensorsReader.Read(bytes.ToArray(), "doc-example");
        SafetensorsEntry test = file.Get("test");
        Assert.That(test.Dtype, Is.EqualTo(SafetensorsDtype.I32));
        Assert.That(test.Shape, Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(test.ToInt32Array(), Is.EqualTo(new int[4]));
    }

    /// <summary>Names are escaped as serde_json does: quotes, backslashes and controls escaped, other text raw UTF-8.</summary>
    [Test]
    public void Writer_EscapesNamesLikeTheReference()
    {
        string name = "q\"b\\n\nc\u001fü";
        byte[] written = SafetensorsWriter.ToBytes([SafetensorsEntry.FromBytes(name, [1], [7])]);
        string header = Encoding.UTF8.GetString(written, 8, written.Length - 9);
        Assert.That(header.TrimEnd(' '), Is.EqualTo("{\"q\\\"b\\\\n\\nc\\u001fü\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"));
        Assert.That(SafetensorsReader.Read(written, "escaped").Tensors[0].Name, Is.EqualTo(name));
    }

    [Test]
    public void Writer_EmptyFileIsAPaddedEmptyObject()
    {
        byte[] written = SafetensorsWriter.ToBytes([]);
        Assert.That(written, Is.EqualTo(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 }));
        Assert.That(SafetensorsReader.Read(written, "empty").Tensors, Is.Empty);
    }
}
