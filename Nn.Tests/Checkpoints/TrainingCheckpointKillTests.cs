using System.Diagnostics;
using CudaNn.Checkpoints;
using CudaNn.Cli;
using CudaNn.Tests.Cli;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Checkpoints;

/// <summary>
/// Kills a real `CudaNn train` process at random moments while it writes a checkpoint every epoch, many times over,
/// and checks after each kill that the checkpoint on disk is complete and resumable: the old one or the new one,
/// never a torn one. Each run resumes from what the previous one left. Epochs over 8 digits take microseconds,
/// so the child spends most of its time writing checkpoints, and most kills land in the middle of a write.
/// </summary>
public class TrainingCheckpointKillTests
{
    private const int Seed = 20_260_706;
    private const int Kills = 10;

    [Test]
    public void KilledMidTraining_LeavesAnIntactCheckpointEveryTime()
    {
        string cli = Path.Combine(Path.GetDirectoryName(typeof(CliApp).Assembly.Location)!, "CudaNn.dll");
        if (!File.Exists(cli)) Assert.Ignore($"{cli} is not built beside the tests");
        TestContext.Out.WriteLine($"seed {Seed}, {Kills} kills");
        var random = new Random(Seed);
        using var dir = new TempDirectory();
        string data = CliRunner.SmallMnist(dir, 8, 8);
        string checkpoint = dir.File("ck.safetensors");
        int lastEpoch = 0, leftovers = 0;
        var clock = Stopwatch.StartNew();

        for (int kill = 0; kill < Kills; kill++)
        {
            string start = File.Exists(checkpoint) ? $"--resume {checkpoint}" : "--hidden 32 --batch-size 8";
            using var child = Process.Start(new ProcessStartInfo("dotnet",
                $"{cli} train {start} --data {data} --epochs 100000 --save-every 1 --keep 2 --save {checkpoint} --device cpu")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            child.ErrorDataReceived += (_, _) => { };
            child.BeginErrorReadLine();
            // Wait until it is writing checkpoints, then strike at a random moment within the next few epochs.
            while (child.StandardOutput.ReadLine() is { } line && !line.StartsWith("Checkpoint after epoch", StringComparison.Ordinal))
            {
            }
            Thread.Sleep(random.Next(0, 100));
            child.Kill(entireProcessTree: true);
            child.WaitForExit();

            leftovers = Directory.GetFiles(dir.Path, "*.tmp").Length;
            Assert.That(File.Exists(checkpoint), $"kill {kill}: the checkpoint vanished");
            int epoch = AssertIntact(checkpoint, $"kill {kill}");
            Assert.That(epoch, Is.GreaterThanOrEqualTo(lastEpoch), $"kill {kill}: the checkpoint went backwards");
            foreach (string numbered in Directory.GetFiles(dir.Path, "ck.epoch-*.safetensors"))
                AssertIntact(numbered, $"kill {kill}");
            TestContext.Out.WriteLine($"kill {kill}: checkpoint at epoch {epoch}, {leftovers} temporary files left by kills that struck mid-write so far");
            lastEpoch = epoch;
        }
        TestContext.Out.WriteLine($"elapsed {clock.Elapsed.TotalSeconds:F1} s");
        Assert.That(lastEpoch, Is.GreaterThan(Kills), "every run got at least one epoch further");
        Assert.That(leftovers, Is.GreaterThan(0), "no kill struck during a write, so the test showed nothing");
    }

    private static int AssertIntact(string path, string when)
    {
        try
        {
            var file = SafetensorsReader.Read(path);
            foreach (var tensor in file.Tensors.Where(t => t.Dtype == SafeTensorDtype.F32)) file.GetFloats(tensor.Name);
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
