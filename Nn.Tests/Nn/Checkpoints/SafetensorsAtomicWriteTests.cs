using System.Buffers;
using CudaNn.Checkpoints;

namespace CudaNn.Tests.Nn.Checkpoints;

/// <summary>A failed write leaves the previous checkpoint byte for byte and no temporary file behind.</summary>
public class SafetensorsAtomicWriteTests
{
    private string _directory = "";
    private string _path = "";
    private byte[] _previous = [];

    [SetUp]
    public void WritePreviousCheckpoint()
    {
        _directory = Path.Combine(Path.GetTempPath(), "cudann-atomic-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _path = Path.Combine(_directory, "model.safetensors");
        SafetensorsWriter.Write(_path, [SafetensorsEntry.FromFloats("fc1.weight", [2, 2], [1, 2, 3, 4])], new Dictionary<string, string> { ["epoch"] = "1" });
        _previous = File.ReadAllBytes(_path);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    private void AssertPreviousIntactAndNoTemporaryFile()
    {
        Assert.That(File.ReadAllBytes(_path), Is.EqualTo(_previous));
        Assert.That(Directory.GetFileSystemEntries(_directory), Is.EqualTo(new[] { _path }));
    }

    [Test]
    public void TensorDataThatFailsMidWrite_LeavesPreviousFile()
    {
        // Header and the first tensor are written to the temporary file before the second tensor's data throws.
        using var failing = new FailingMemory();
        SafetensorsEntry[] tensors =
        [
            SafetensorsEntry.FromFloats("fc1.weight", [2, 2], [9, 9, 9, 9]),
            new SafetensorsEntry("fc1.bias", SafetensorsDtype.F32, [64], failing.Create(256)),
        ];
        Assert.That(() => SafetensorsWriter.Write(_path, tensors), Throws.TypeOf<IOException>().With.Message.EqualTo(FailingMemory.Message));
        Assert.That(failing.Reads, Is.EqualTo(1), "the failure happened while writing, not before");
        AssertPreviousIntactAndNoTemporaryFile();
    }

    [Test]
    public void InvalidEntries_LeavePreviousFile()
    {
        SafetensorsEntry[] duplicate = [SafetensorsEntry.FromBytes("a", [1], [1]), SafetensorsEntry.FromBytes("a", [1], [1])];
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(_path, duplicate));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(_path, [SafetensorsEntry.FromBytes("\ud800", [1], [1])]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(_path, [null!]));
        AssertPreviousIntactAndNoTemporaryFile();
    }

    [Test]
    public void EnumerationThatThrows_LeavesPreviousFile()
    {
        static IEnumerable<SafetensorsEntry> Broken()
        {
            yield return SafetensorsEntry.FromBytes("a", [1], [1]);
            throw new InvalidOperationException("parameter list changed");
        }
        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(_path, Broken()));
        AssertPreviousIntactAndNoTemporaryFile();
    }

    [Test]
    public void SuccessfulWrite_ReplacesPreviousFileAndLeavesNoTemporaryFile()
    {
        SafetensorsWriter.Write(_path, [SafetensorsEntry.FromInt64s("step", [], [7])]);
        Assert.That(SafetensorsReader.Read(_path).GetInt64s("step"), Is.EqualTo(new long[] { 7 }));
        Assert.That(Directory.GetFileSystemEntries(_directory), Is.EqualTo(new[] { _path }));
    }

    [Test]
    public void MissingDirectory_ThrowsAndCreatesNothing()
    {
        string path = Path.Combine(_directory, "no-such-dir", "m.safetensors");
        Assert.Throws<DirectoryNotFoundException>(() => SafetensorsWriter.Write(path, [SafetensorsEntry.FromBytes("a", [1], [1])]));
        AssertPreviousIntactAndNoTemporaryFile();
    }

    /// <summary>Memory whose contents cannot be read, like a device buffer whose copy fails.</summary>
    private sealed class FailingMemory : MemoryManager<byte>
    {
        public const string Message = "simulated failure reading tensor data";

        public int Reads { get; private set; }

        public ReadOnlyMemory<byte> Create(int length) => CreateMemory(length);

        public override Span<byte> GetSpan()
        {
            Reads++;
            throw new IOException(Message);
        }

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
