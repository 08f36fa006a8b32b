using System.Text.Json;
using CudaNn.Checkpoints;
using CudaNn.Data;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>
/// `mpirun -np N dotnet CudaNn.Cli.dll train --distributed` as users launch it, over Open MPI: on CPU ranks against one
/// process with the combined batch, twice for bit-identity, resumed, and with a rank that hangs or dies; on emulator
/// ranks, whose captured steps replay their all-reduce, against CPU ranks.
/// </summary>
/// <remarks>
/// Tolerance for the weights against the single process: 1% of the summed learning rates (as in TrainingFlowTests). The
/// ranks' batches together are the single process's batch, so the runs differ only in the order of float32 sums (a
/// gradient reduced as two halves, then averaged); Adam moves a weight by about lr a step at most, and can turn such a
/// rounding difference into a different step only where a gradient is near zero. A wrong share of the data, a rank
/// stepping on its own gradients or a sum in place of the average moves weights by a sizeable fraction of lr per step.
/// </remarks>
[NonParallelizable]
public class DistributedTrainTests
{
    private const int Ranks = 2;
    private const int RankBatch = 16;

    [Test]
    public void TwoRanks_TrainLikeOneProcessWithTheCombinedBatch()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 1024, 200);
        string common = $"--data {data} --hidden 32,16 --epochs 2 --seed 5 --device cpu --json";
        string job = dir.File("job.safetensors"), alone = dir.File("alone.safetensors");

        var (output, single) = JobAndAlone(common, job, alone);

        var jobEpochs = Events(output, "epoch");
        var aloneEpochs = Events(single.Output, "epoch");
        Assert.That(jobEpochs, Has.Count.EqualTo(2), "rank 0 alone reports each epoch");
        Assert.That(Events(output, "summary"), Has.Count.EqualTo(1));
        for (int e = 0; e < 2; e++)
        {
            Assert.That(jobEpochs[e].GetProperty("steps").GetInt64(), Is.EqualTo(aloneEpochs[e].GetProperty("steps").GetInt64()));
            Assert.That(jobEpochs[e].GetProperty("train_loss").GetDouble(), Is.EqualTo(aloneEpochs[e].GetProperty("train_loss").GetDouble()).Within(1e-4).Percent);
            Assert.That(jobEpochs[e].GetProperty("test_loss").GetDouble(), Is.EqualTo(aloneEpochs[e].GetProperty("test_loss").GetDouble()).Within(1e-3).Percent);
            Assert.That(jobEpochs[e].GetProperty("test_accuracy").GetDouble(), Is.EqualTo(aloneEpochs[e].GetProperty("test_accuracy").GetDouble()).Within(0.011),
                "the sharded evaluation counts all 200 test digits (a borderline digit may flip)");
        }

        var jobFile = SafetensorsReader.Read(job);
        var aloneFile = SafetensorsReader.Read(alone);
        long steps = TrainingCheckpoint.ReadPosition(jobFile).History.Count * (1024 / (Ranks * RankBatch));
        double tolerance = 0.01 * 1e-3 * steps;
        double worst = 0;
        foreach (string name in new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" })
            worst = Math.Max(worst, jobFile.GetFloats(name).Zip(aloneFile.GetFloats(name), (a, b) => Math.Abs(a - b)).Max());
        TestContext.Out.WriteLine($"largest weight difference from the single process: {worst:E2} (tolerance {tolerance:E2} = 1% of {steps} x lr)");
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance));
        Assert.That(jobFile.Metadata["cudann.train.world_size"], Is.EqualTo("2"));
        Assert.That(Directory.GetFiles(dir.Path, "*.safetensors").Select(Path.GetFileName), Is.EquivalentTo(new[] { "job.safetensors", "alone.safetensors" }),
            "rank 0 alone writes the checkpoint");
    }

    /// <summary>
    /// --plan auto in a job: every rank times the same plans (their steps hold the gradient all-reduce) and rank 0's
    /// choice is the job's: rank 0 reports it once, and the checkpoint records it. The emulator times by its own
    /// events (or takes an earlier run's choice from the cache), so the choice itself may be any plan.
    /// </summary>
    [Test]
    public void TwoEmulatorRanksWithPlanAuto_TrainWithRankZerosChoice()
    {
        Requirements.Emulator();
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 256, 100);
        string job = dir.File("job.safetensors");
        var (code, output) = MpiJob.Run(Ranks, $"train --distributed --data {data} --hidden 32,16 --epochs 1 --seed 5 --device emulator --plan auto --json --batch-size {RankBatch} --save {job}");
        Assert.That(code, Is.Zero, output);
        var plans = Events(output, "plan");
        Assert.That(plans, Has.Count.EqualTo(1), "rank 0 alone reports the choice");
        string chosen = plans[0].GetProperty("plan").GetString()!;
        Assert.That(chosen, Is.AnyOf("layers", "epilogues", "fused"));
        Assert.That(Events(output, "epoch")[0].GetProperty("plan").GetString(), Is.EqualTo(chosen));
        Assert.That(SafetensorsReader.Read(job).Metadata["cudann.train.plan"], Is.EqualTo(chosen));
    }

    /// <summary>The run as a job of two ranks of <see cref="RankBatch"/> saving to <paramref name="job"/>, and as one process with their combined batch saving to <paramref name="alone"/>.</summary>
    private static (string JobOutput, (int Code, string Output, string Error) Alone) JobAndAlone(string common, string job, string alone)
    {
        var (code, output) = MpiJob.Run(Ranks, $"train --distributed {common} --batch-size {RankBatch} --save {job}");
        Assert.That(code, Is.Zero, output);
        var single = Run(["train", .. common.Split(' '), "--batch-size", $"{Ranks * RankBatch}", "--save", alone]);
        Assert.That(single.Code, Is.Zero, single.Error);
        return (output, single);
    }

    [Test]
    public void TwoRanksOfACsvRegression_StandardizeAlike_AndTrainLikeOneProcess()
    {
        // 416 training rows (a test fraction of 26 of the 442), 13 steps of 2 x 16 an epoch, so no rank's share is padded.
        using var dir = new TempDirectory();
        string csv = ReferenceFiles.InRepository("data/tabular/progression.csv");
        string common = $"--task regression --data {csv} --target progression --test-fraction 0.0589 --hidden 16 --epochs 2 --seed 5 --device cpu --json";
        string job = dir.File("job.safetensors"), alone = dir.File("alone.safetensors");
        JobAndAlone(common, job, alone);

        var jobFile = SafetensorsReader.Read(job);
        var aloneFile = SafetensorsReader.Read(alone);
        foreach (var name in jobFile.Tensors.Select(t => t.Name).Where(n => n.StartsWith(Standardizer.TensorPrefix, StringComparison.Ordinal)))
            Assert.That(jobFile.GetDoubles(name), Is.EqualTo(aloneFile.GetDoubles(name)), $"{name}: the training rows' statistics");
        // Had a rank scaled its rows otherwise, its gradients, and so the averaged steps, would be another problem's.
        double worst = 0;
        foreach (string name in new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" })
            worst = Math.Max(worst, jobFile.GetFloats(name).Zip(aloneFile.GetFloats(name), (x, y) => Math.Abs(x - y)).Max());
        double tolerance = 0.01 * 1e-3 * 26;
        TestContext.Out.WriteLine($"largest weight difference from the single process: {worst:E2} (tolerance {tolerance:E2} = 1% of 26 x lr)");
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance));
    }

    [Test]
    public void TheSameJobTwice_IsBitIdentical_AndAResumedJobContinuesExactly()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 512, 100);
        string common = $"--data {data} --hidden 24 --seed 9 --device cpu --batch-size 20";
        string first = dir.File("first.safetensors"), second = dir.File("second.safetensors"), half = dir.File("half.safetensors");

        Assert.That(MpiJob.Run(Ranks, $"train --distributed {common} --epochs 2 --save {first}").Code, Is.Zero);
        Assert.That(MpiJob.Run(Ranks, $"train --distributed {common} --epochs 2 --save {second}").Code, Is.Zero);
        AssertSameTensors(first, second);

        Assert.That(MpiJob.Run(Ranks, $"train --distributed {common} --epochs 1 --save {half}").Code, Is.Zero);
        var (code, output) = MpiJob.Run(Ranks, $"train --distributed --resume {half} --data {data} --device cpu --epochs 2 --save {half}");
        Assert.That(code, Is.Zero, output);
        AssertSameTensors(first, half);

        var alone = Run("train", "--resume", half, "--data", data, "--device", "cpu", "--epochs", "3", "--save", dir.File("alone.safetensors"));
        Assert.That(alone.Code, Is.EqualTo(1));
        Assert.That(alone.Error, Does.Contain("was trained by 2 ranks and this run has 1").And.Contain("mpirun -np 2"));
    }

    /// <summary>
    /// Rank 1 stops (SIGSTOP, as a hung process) or dies (SIGKILL) after the first checkpoint: the job must end by itself
    /// with an error naming what happened, and the checkpoint must be the last complete one.
    /// </summary>
    [TestCase(19, "--collective-timeout 2", new[] { "error: rank 0 of 2", "did not complete within 2 s", "another rank has stopped, hung or died" })]
    [TestCase(9, "", new[] { "rank 1", "signal 9" })]
    public void ARankThatHangsOrDies_EndsTheJobWithAClearError_AndTheCheckpointStaysIntact(int signal, string options, string[] messages)
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("ck.safetensors");
        using var job = StartLongJob(dir, checkpoint, options);
        int pid = job.RankProcess(1);
        MpiJob.Signal(pid, signal);
        TestContext.Out.WriteLine($"sent signal {signal} to rank 1 (pid {pid})");
        int code = job.WaitForExit(TimeSpan.FromMinutes(2));
        Assert.That(code, Is.Not.Zero, "the job ended by itself");
        foreach (string message in messages) Assert.That(job.Output, Does.Contain(message));
        var position = TrainingCheckpoint.ReadPosition(SafetensorsReader.Read(checkpoint));
        Assert.That(position.EpochsCompleted, Is.GreaterThanOrEqualTo(1));
        Assert.That(position.History, Has.Count.EqualTo(position.EpochsCompleted), "the checkpoint's history matches its epochs");
        TestContext.Out.WriteLine($"checkpoint intact after epoch {position.EpochsCompleted}");
    }

    /// <summary>
    /// Emulator ranks run the GPU path of a data-parallel step: the all-reduce sits in the device stream between backward
    /// and the optimizer and is captured into the step's graph. Were it missing from the replays, each rank would step on
    /// its own gradients and rank 0's weights would leave the CPU ranks' by far more than the tolerance.
    /// </summary>
    [Test]
    public void EmulatorRanks_ReplayTheAllReduceInTheirGraphs_AndTrainAsCpuRanksDo()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 256, 64);
        string common = $"--data {data} --hidden 16 --batch-size {RankBatch} --epochs 2 --seed 3 --json";
        string cpu = dir.File("cpu.safetensors"), emulator = dir.File("emulator.safetensors");
        Assert.That(MpiJob.Run(Ranks, $"train --distributed --device cpu {common} --save {cpu}").Code, Is.Zero);
        var (code, output) = MpiJob.Run(Ranks, $"train --distributed --device emulator {common} --save {emulator}");
        Assert.That(code, Is.Zero, output);
        Assert.That(Events(output, "epoch"), Has.Count.EqualTo(2));

        var a = SafetensorsReader.Read(cpu);
        var b = SafetensorsReader.Read(emulator);
        double tolerance = 0.01 * 1e-3 * (2 * 256 / (Ranks * RankBatch));
        double worst = new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }
            .Max(name => a.GetFloats(name).Zip(b.GetFloats(name), (x, y) => Math.Abs(x - y)).Max());
        TestContext.Out.WriteLine($"largest weight difference, emulator ranks against CPU ranks: {worst:E2} (tolerance {tolerance:E2})");
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance));
    }

    // Each rank 1 differs from rank 0 in one setting. Before the check, a different --lr, --seed or same-sized data trained
    // with exit code 0; --batch-size, --hidden and the data's size ended in MPI_ERR_TRUNCATE, --optimizer and --epochs in a
    // collective timeout that did not name the cause.
    [TestCase("--lr 0.01", "rank 1's --lr is '0.01' but rank 0's is '0.001'")]
    [TestCase("--seed 8", "rank 1's --seed is '8' but rank 0's is '7'")]
    [TestCase("--batch-size 8", "rank 1's --batch-size is '8' but rank 0's is '16'")]
    [TestCase("--hidden 12", "rank 1's --hidden is '12' but rank 0's is '16'")]
    [TestCase("--optimizer sgd", "rank 1's --optimizer is 'sgd' but rank 0's is 'adam'")]
    [TestCase("--epochs 3", "rank 1's --epochs is '3' but rank 0's is '2'")]
    [TestCase("OTHER-DIGITS", "rank 1's --data is '64 train, 20 test, 28x28 images, sha256 ")]
    [TestCase("MORE-DIGITS", "rank 1's --data is '96 train, 20 test, 28x28 images, sha256 ")]
    public void RanksGivenDifferentRuns_StopAtStartUp_NamingTheSettingAndBothValues(string rank1, string expected)
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 64, 20);
        // The same number of digits as rank 0's, from further into the shipped set, or more of them.
        string other = rank1 == "OTHER-DIGITS" ? Shifted(dir, 64, 20) : rank1 == "MORE-DIGITS" ? SmallMnist(dir, 96, 20) : data;
        var settings = new Dictionary<string, string>
        {
            ["--hidden"] = "16", ["--seed"] = "7", ["--batch-size"] = "16", ["--epochs"] = "2", ["--optimizer"] = "adam", ["--lr"] = "0.001", ["--device"] = "cpu",
        };
        string Line(IReadOnlyDictionary<string, string> options) => string.Join(" ", options.Select(o => $"{o.Key} {o.Value}"));
        var changed = new Dictionary<string, string>(settings);
        if (!rank1.Contains("DIGITS")) changed[rank1.Split(' ')[0]] = rank1.Split(' ')[1];
        string rank0 = $"--data {data} {Line(settings)} --save {dir.File("w.safetensors")}";
        string rank1Line = $"--data {other} {Line(changed)} --save {dir.File("v.safetensors")}";
        var (code, output) = MpiJob.RunEach([$"train --distributed --collective-timeout 60 {rank0}", $"train --distributed --collective-timeout 60 {rank1Line}"]);
        Assert.That(code, Is.Not.Zero, output);
        Assert.That(output, Does.Contain($"error: {expected}"));
        Assert.That(output, Does.Contain("every rank of a job must be given the same run"));
        Assert.That(output, Does.Not.Contain("Epoch 1/").And.Not.Contain("MPI_ERR_TRUNCATE").And.Not.Contain("timed out"));
        Assert.That(output.Split("same run").Length - 1, Is.EqualTo(1), "one message");
        Assert.That(File.Exists(dir.File("w.safetensors")) || File.Exists(dir.File("v.safetensors")), Is.False, "nothing trained, nothing written");
    }

    [Test]
    public void RanksMayDifferInWhatRankZeroWrites_JsonAndTheirTimeout()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 64, 20);
        string common = $"train --distributed --data {data} --hidden 8 --epochs 1 --batch-size 16 --device cpu";
        var (code, output) = MpiJob.RunEach([$"{common} --save {dir.File("w.safetensors")} --json", $"{common} --save {dir.File("v.safetensors")} --save-every 1 --collective-timeout 300"]);
        Assert.That(code, Is.Zero, output);
        Assert.That(File.Exists(dir.File("w.safetensors")), "rank 0 writes its --save");
    }

    /// <summary>A directory of <paramref name="train"/> and <paramref name="test"/> shipped digits taken after the first 1,000 of each split.</summary>
    private static string Shifted(TempDirectory dir, int train, int test)
    {
        string path = dir.File("shifted");
        Directory.CreateDirectory(path);
        foreach (var (split, prefix, count) in new[] { (CudaNn.Data.MnistSplit.Train, "train", train), (CudaNn.Data.MnistSplit.Test, "t10k", test) })
        {
            var digits = CudaNn.Data.MnistDataSet.LoadDefault(split);
            CudaNn.Data.IdxWriter.Write(Path.Combine(path, $"{prefix}-images-idx3-ubyte"), [count, digits.Rows, digits.Cols],
                digits.Images.AsSpan(1000 * digits.ImageSize, count * digits.ImageSize));
            CudaNn.Data.IdxWriter.Write(Path.Combine(path, $"{prefix}-labels-idx1-ubyte"), [count], digits.Labels.AsSpan(1000, count));
        }
        return path;
    }

    [Test]
    public void DistributedWithoutALauncher_TrainsAsASingleRankWithANote()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 64, 16);
        var run = Run("train", "--distributed", "--data", data, "--hidden", "8", "--epochs", "1", "--device", "cpu", "--save", dir.File("one.safetensors"));
        Assert.That(run.Code, Is.Zero, run.Error);
        Assert.That(run.Error, Does.Contain("note: --distributed without a launcher").And.Contain("mpirun -np N dotnet CudaNn.Cli.dll train --distributed"));
        Assert.That(SafetensorsReader.Read(dir.File("one.safetensors")).Metadata.ContainsKey("cudann.train.world_size"), Is.False);
    }

    /// <summary>A job of many short epochs that saves after each, started and run until its first checkpoint exists.</summary>
    private static MpiJob StartLongJob(TempDirectory dir, string checkpoint, string options)
    {
        string data = SmallMnist(dir, 512, 64);
        var job = MpiJob.Start(Ranks, $"train --distributed --data {data} --hidden 16 --batch-size 8 --epochs 500 --save-every 1 --keep 0 " +
            $"--device cpu --json --save {checkpoint} {options}");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(checkpoint))
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(1))
            {
                job.Dispose();
                Assert.Fail($"no checkpoint after a minute:\n{job.Output}");
            }
            Thread.Sleep(50);
        }
        return job;
    }

    private static void AssertSameTensors(string expected, string actual)
    {
        var a = SafetensorsReader.Read(expected);
        var b = SafetensorsReader.Read(actual);
        Assert.That(b.Tensors.Select(t => t.Name), Is.EquivalentTo(a.Tensors.Select(t => t.Name)));
        foreach (var tensor in a.Tensors)
            Assert.That(b.Get(tensor.Name).Data.ToArray(), Is.EqualTo(tensor.Data.ToArray()), $"{tensor.Name} differs");
    }

    // Open MPI gives each rank a terminal for its output, so .NET starts it with a terminal-mode escape ("\e[?1h\e=", none
    // with TERM=dumb): a JSON object starts at its brace.
    private static List<JsonElement> Events(string output, string kind) =>
        output.Split('\n').Where(l => l.Contains("{\"event\"", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l[l.IndexOf('{', StringComparison.Ordinal)..]).RootElement)
            .Where(e => e.GetProperty("event").GetString() == kind).ToList();
}
