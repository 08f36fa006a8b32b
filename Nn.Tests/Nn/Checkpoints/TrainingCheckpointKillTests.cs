using System.Diagnostics;
using CudaNn.Checkpoints;
using CudaNn.Cli;
using CudaNn.Tests.Cli;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Checkpoints;

/// <summary>
/// A real `CudaNn train` process killed while it writes its checkpoint, at chosen bytes of the write (the writer's
/// test hook, <see cref="SafetensorsWriter.KillAtByteVariable"/>, kills the process there as kill -9 would): before any
/// byte, inside the header, inside the tensors, one byte short, and after the flush but before the rename. After each
/// kill the checkpoint on disk must be the previous one, complete and resumable, and the torn write must be a
/// temporary file of exactly the bytes written; the run after the last kill resumes and finishes its epoch.
/// </summary>
public class TrainingCheckpointKillTests
{
    [Test]
    public void KilledAtAnyByteOfTheWrite_LeavesThePreviousCheckpointIntact()
    {
        string cli = Path.Combine(Path.GetDirectoryName(typeof(CliApp).Assembly.Location)!, "CudaNn.Cli.dll");
        Assert.That(File.Exists(cli), $"{cli} is built beside the tests (Nn.Tests references the CudaNn project)");
        using var dir = new TempDirectory();
        string data = CliRunner.SmallMnist(dir, 8, 8);
        string checkpoint = dir.File("ck.safetensors");
        Assert.That(Train(cli, $"--hidden 32 --batch-size 8 --data {data} --epochs 2 --save {checkpoint}", killAt: null), Is.Zero);
        long length = new FileInfo(checkpoint).Length;
        byte[] before = File.ReadAllBytes(checkpoint);

        foreach (long killAt in new[] { 0, 5, 200, length / 2, length - 1, long.MaxValue })
        {
            int code = Train(cli, $"--resume {checkpoint} --data {data} --epochs 3 --save {checkpoint}", killAt);
            Assert.That(code, Is.Not.Zero, $"killed at byte {killAt}: the process ended by itself");
            Assert.That(File.ReadAllBytes(checkpoint), Is.EqualTo(before), $"killed at byte {killAt}: the checkpoint changed");
            Assert.That(AssertIntact(checkpoint, $"killed at byte {killAt}"), Is.EqualTo(2));
            var torn = Directory.GetFiles(dir.Path, "*.tmp").Select(f => new FileInfo(f)).ToList();
            Assert.That(torn, Has.Count.EqualTo(1), $"killed at byte {killAt}: one torn temporary file");
            long written = torn[0].Length;
            if (killAt < length)
                Assert.That(written, Is.EqualTo(killAt), $"killed at byte {killAt}: the temporary file holds the bytes written");
            else
                Assert.That(AssertIntact(torn[0].FullName, "the write killed before its rename"), Is.EqualTo(3),
                    "killed after the flush: the new checkpoint is complete, only never renamed into place");
            TestContext.Out.WriteLine($"killed at byte {killAt}: checkpoint intact at epoch 2, temporary file of {written} bytes");
            if (killAt != long.MaxValue) torn[0].Delete();
        }

        Assert.That(Train(cli, $"--resume {checkpoint} --data {data} --epochs 3 --save {checkpoint}", killAt: null), Is.Zero);
        Assert.That(AssertIntact(checkpoint, "after the last run"), Is.EqualTo(3));
        Assert.That(Directory.GetFiles(dir.Path, "*.tmp"), Is.Empty, "the next write removed the killed write's temporary file");
    }

    private static int Train(string cli, string arguments, long? killAt)
    {
        var start = new ProcessStartInfo("dotnet", $"{cli} train {arguments} --device cpu")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (killAt is { } bytes) start.Environment[SafetensorsWriter.KillAtByteVariable] = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd() + child.StandardError.ReadToEnd();
        // A hung child would hang CI: a minute is far more than 3 epochs of 8 digits take.
        if (!child.WaitForExit(60_000))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"train {arguments} did not finish in a minute:\n{output}");
        }
        TestContext.Out.WriteLine($"$ train {arguments}{(killAt is null ? "" : $" (killed at byte {killAt})")} -> {child.ExitCode}");
        return child.ExitCode;
    }

    private static int AssertIntact(string path, string when)
    {
        try
        {
            var file = SafetensorsReader.Read(path);
            foreach (var tensor in file.Tensors.Where(t => t.Dtype == SafetensorsDtype.F32)) file.GetFloats(tensor.Name);
            var position = TrainingCheckpoint.ReadPosition(file);
            Assert.That(position.History, Has.Count.EqualTo(position.EpochsCompleted), $"{when}: {path} history");
            return position.EpochsCompleted;
        }
        catch (CheckpointFormatException e)
        {
            Assert.Fail($"{when}: {path} is torn: {e.Message}");
            throw;
        }
    }
}
