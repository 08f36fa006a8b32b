using CudaNn.IO;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.IO;

/// <summary>Temporaries of interrupted writes are cleaned up, and a destination that cannot take a file is found before any work.</summary>
public class AtomicFileTests
{
    [Test]
    public void ASuccessfulWrite_RemovesTheTemporariesOfInterruptedWritesOfTheSameTarget()
    {
        using var dir = new TempDirectory();
        string target = dir.File("w.safetensors");
        string stale = dir.Write($".w.safetensors.{Guid.NewGuid():N}.tmp", [1, 2, 3]);
        string otherTarget = dir.Write($".v.safetensors.{Guid.NewGuid():N}.tmp", [1]);
        string notOurs = dir.Write(".w.safetensors.notes.tmp", [1]);
        string inProgress = dir.Write($".w.safetensors.{Guid.NewGuid():N}.tmp", [4]);
        foreach (string path in new[] { stale, otherTarget, notOurs }) File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-5));
        // Another process writing the same target now: its temporary is newer than this write's start.
        File.SetLastWriteTimeUtc(inProgress, DateTime.UtcNow.AddMinutes(5));

        AtomicFile.Write(target, s => s.Write([42]));

        Assert.That(File.ReadAllBytes(target), Is.EqualTo(new byte[] { 42 }));
        Assert.That(File.Exists(stale), Is.False, "an interrupted write of this target");
        Assert.That(File.Exists(otherTarget) && File.Exists(notOurs) && File.Exists(inProgress), "other targets' temporaries, other files, and a write in progress stay");
    }

    [Test]
    public void AFailedWrite_LeavesTheOldFileAndNoTemporary()
    {
        using var dir = new TempDirectory();
        string target = dir.Write("w.bin", [7]);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, s =>
        {
            s.Write([1, 2]);
            throw new InvalidOperationException("disk on fire");
        }));
        Assert.That(File.ReadAllBytes(target), Is.EqualTo(new byte[] { 7 }));
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { target }));
    }

    [TestCase("DIR", "is a directory")]
    [TestCase("/nonexistent/w.safetensors", "directory '/nonexistent' for '/nonexistent/w.safetensors' does not exist")]
    [TestCase("/proc/w.safetensors", "cannot create a file in '/proc'")]
    [TestCase("/sys/w", "cannot create a file in '/sys'")]
    public void CheckWritable_SaysWhyAPathCannotBeWritten(string path, string expected)
    {
        if (!OperatingSystem.IsLinux() && path.StartsWith("/proc", StringComparison.Ordinal) | path.StartsWith("/sys", StringComparison.Ordinal))
            Assert.Ignore("/proc and /sys are Linux's");
        using var dir = new TempDirectory();
        var e = Assert.Throws<IOException>(() => AtomicFile.CheckWritable(path.Replace("DIR", dir.Path)));
        Assert.That(e!.Message, Does.Contain(expected));
    }

    [Test]
    public void CheckWritable_LeavesNothingBehind()
    {
        using var dir = new TempDirectory();
        AtomicFile.CheckWritable(dir.File("w.safetensors"));
        Assert.That(Directory.GetFileSystemEntries(dir.Path), Is.Empty);
    }
}
