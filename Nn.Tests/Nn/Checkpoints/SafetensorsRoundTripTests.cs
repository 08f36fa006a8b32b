using CudaNn.Checkpoints;

namespace CudaNn.Tests.Nn.Checkpoints;

public class SafetensorsRoundTripTests
{
    private const int Seed = 20240611;
    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "cudann-safetensors-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private static (SafetensorsEntry[] Tensors, float[] Weight, double[] Moment, long[] Steps, byte[] Rng) SampleTensors()
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        var random = new Random(Seed);
        float[] weight = Enumerable.Range(0, 3 * 7).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        double[] moment = Enumerable.Range(0, 5).Select(_ => random.NextDouble() * 1e-3).ToArray();
        moment[0] = double.Epsilon;
        long[] steps = [long.MaxValue, -1, 0, 12345678901];
        byte[] rng = Enumerable.Range(0, 13).Select(_ => (byte)random.Next(256)).ToArray();
        SafetensorsEntry[] tensors =
        [
            SafetensorsEntry.FromFloats("fc1.weight", [3, 7], weight),
            SafetensorsEntry.FromDoubles("optimizer.exp_avg", [5], moment),
            SafetensorsEntry.FromInt64s("optimizer.step", [2, 2], steps),
            SafetensorsEntry.FromBytes("rng.state", [13], rng),
            SafetensorsEntry.FromInt32s("epoch", [], [3]),
            SafetensorsEntry.FromFloats("empty", [0, 4], []),
        ];
        return (tensors, weight, moment, steps, rng);
    }

    [Test]
    public void WriteThenRead_FileKeepsOrderDtypesShapesValuesAndMetadata()
    {
        var (tensors, weight, moment, steps, rng) = SampleTensors();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3", ["note"] = "ünïcode \"quoted\"\n" };
        string path = Path.Combine(_directory, "model.safetensors");

        SafetensorsWriter.Write(path, tensors, metadata);
        SafetensorsFile file = SafetensorsReader.Read(path);

        Assert.That(file.Source, Is.EqualTo(path));
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(tensors.Select(t => t.Name)));
        Assert.That(file.Tensors.Select(t => t.Dtype), Is.EqualTo(new[]
        {
            SafetensorsDtype.F32, SafetensorsDtype.F64, SafetensorsDtype.I64, SafetensorsDtype.U8, SafetensorsDtype.I32, SafetensorsDtype.F32,
        }));
        Assert.That(file.Tensors.Select(t => t.Shape.ToArray()), Is.EqualTo(tensors.Select(t => t.Shape.ToArray())));
        Assert.That(file.GetFloats("fc1.weight", [3, 7]), Is.EqualTo(weight));
        Assert.That(file.GetDoubles("optimizer.exp_avg"), Is.EqualTo(moment));
        Assert.That(file.GetInt64s("optimizer.step", [2, 2]), Is.EqualTo(steps));
        Assert.That(file.Get("rng.state").Data.ToArray(), Is.EqualTo(rng));
        Assert.That(file.Get("epoch").ToInt32Array(), Is.EqualTo(new[] { 3 }));
        Assert.That(file.Get("empty").ElementCount, Is.Zero);
        Assert.That(file.Metadata, Is.EqualTo(metadata));
    }

    [Test]
    public void FileStreamAndMemory_GiveTheSameBytes()
    {
        var (tensors, _, _, _, _) = SampleTensors();
        string path = Path.Combine(_directory, "m.safetensors");
        SafetensorsWriter.Write(path, tensors);
        byte[] onDisk = File.ReadAllBytes(path);

        Assert.That(SafetensorsWriter.ToBytes(tensors), Is.EqualTo(onDisk));
        using var stream = new MemoryStream(onDisk);
        SafetensorsFile fromStream = SafetensorsReader.Read(stream, "stream");
        SafetensorsFile fromSpan = SafetensorsReader.Read(onDisk, "span");
        Assert.That(SafetensorsWriter.ToBytes(fromStream.Tensors), Is.EqualTo(onDisk));
        Assert.That(SafetensorsWriter.ToBytes(fromSpan.Tensors), Is.EqualTo(onDisk));
    }

    [Test]
    public void Header_IsPaddedWithSpacesToAMultipleOfEight()
    {
        for (int nameLength = 1; nameLength <= 9; nameLength++)
        {
            byte[] bytes = SafetensorsWriter.ToBytes([SafetensorsEntry.FromBytes(new string('x', nameLength), [1], [1])]);
            ulong headerLength = BitConverter.ToUInt64(bytes, 0);
            Assert.That(headerLength % 8, Is.Zero, $"name length {nameLength}");
            int jsonEnd = Array.LastIndexOf(bytes, (byte)'}', 8 + (int)headerLength - 1);
            Assert.That(bytes[(jsonEnd + 1)..(8 + (int)headerLength)], Is.All.EqualTo((byte)' '));
        }
    }

    [Test]
    public void Write_RejectsDuplicateAndReservedNames()
    {
        string path = Path.Combine(_directory, "bad.safetensors");
        var duplicate = new[] { SafetensorsEntry.FromBytes("a", [1], [1]), SafetensorsEntry.FromBytes("a", [1], [2]) };
        Assert.That(() => SafetensorsWriter.Write(path, duplicate),
            Throws.ArgumentException.With.Message.Contains("'a' appears more than once"));
        Assert.That(() => SafetensorsWriter.Write(path, [SafetensorsEntry.FromBytes("__metadata__", [1], [1])]),
            Throws.ArgumentException.With.Message.Contains("reserved"));
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void Entry_RejectsDataThatDoesNotMatchTheShape()
    {
        Assert.That(() => new SafetensorsEntry("w", SafetensorsDtype.F32, [2, 3], new byte[20]),
            Throws.ArgumentException.With.Message.Contains("needs 24 bytes but the data has 20"));
        Assert.That(() => new SafetensorsEntry("w", SafetensorsDtype.F32, [-1], new byte[4]),
            Throws.ArgumentException.With.Message.Contains("negative"));
        Assert.That(() => new SafetensorsEntry("w", SafetensorsDtype.F64, [long.MaxValue, 2], new byte[8]),
            Throws.ArgumentException.With.Message.Contains("more than 2^63"));
    }
}
