using System.Security.Cryptography;
using CudaNn.Data;
using CudaNn.Distributed;
using CudaNn.Training;

namespace CudaNn.Cli.Commands.Train;

/// <summary>
/// What `train` learns from: MNIST digits from a folder (classification), or the rows of a CSV file split into
/// training and test rows by the seed (regression of its --target column).
/// </summary>
internal sealed class RunData
{
    // The split draws from its own stream of the seed, so it is the same on every run and on --resume, and leaves the
    // generator that initialises and shuffles as it always was.
    private const ulong SplitStream = 0x9E3779B97F4A7C15;

    private readonly MnistDataSet? _mnistTrain, _mnistTest;
    private readonly TensorDataset? _rowsTrain, _rowsTest;

    private RunData(MnistDataSet train, MnistDataSet test)
    {
        (_mnistTrain, _mnistTest, Inputs, Outputs, TrainCount, Description) = (train, test, train.ImageSize, MnistDataSet.ClassCount, train.Count,
            $"{train.Count} train, {test.Count} test");
        _fingerprint = new(() =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var bytes in new[] { train.Images, train.Labels, test.Images, test.Labels }) hash.AppendData(bytes);
            return $"{Description}, {train.Rows}x{train.Cols} images, sha256 {Convert.ToHexStringLower(hash.GetHashAndReset())}";
        });
    }

    private RunData(TensorDataset train, TensorDataset test, string target, string file)
    {
        (_rowsTrain, _rowsTest, Inputs, Outputs, TrainCount, Description) = (train, test, train.FeatureShape[1], train.TargetShape[1], train.Count,
            $"{Report.Rows(train.Count, "train ")}, {Report.Rows(test.Count, "test ")}, target '{target}'");
        _fingerprint = new(() => $"{Report.Rows(train.Count + test.Count)} of {train.FeatureShape[1] + 1} columns, sha256 {RankAgreement.FileDigest(file)}");
    }

    private readonly Lazy<string> _fingerprint;

    public int Inputs { get; }
    public int Outputs { get; }
    public int TrainCount { get; }
    public string Description { get; }

    /// <summary>The data's sizes and a SHA-256 of its contents, which every rank of a job must share; computed when first asked.</summary>
    public string Fingerprint => _fingerprint.Value;

    public static RunData Load(TrainSettings s, bool resuming)
    {
        if (s.Task == TrainingTask.Classification)
        {
            var (train, test) = MnistDataSet.LoadSplits(s.DataDirectory);
            return new RunData(train, test);
        }
        if (!File.Exists(s.DataDirectory))
            throw new CliException(resuming
                ? $"--resume: the checkpoint is a regression of column '{s.Target}'; give its CSV file: --task regression --target {s.Target} --data FILE.csv"
                : $"--data: file '{s.DataDirectory}' does not exist", CliApp.RunError);
        try
        {
            var rows = TensorDataset.FromCsv(s.DataDirectory, s.Target!);
            var (train, test) = rows.Split(s.TestFraction, new Generator(s.Seed ^ SplitStream));
            return new RunData(train, test, s.Target!, s.DataDirectory);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new CliException($"--data: {e.Message}", CliApp.RunError);
        }
    }

    /// <summary>
    /// The training loader (shuffled by <paramref name="generator"/> when asked) and the test loader, on the run's device;
    /// in a data-parallel job, each holds this rank's share (padded to equal shares for training, exact for testing).
    /// </summary>
    public (DataLoader Train, DataLoader Test) Loaders(TrainSettings s, Generator generator, ProcessGroup? group)
    {
        var trainShard = group is null ? null : new DistributedShard(group.Rank, group.WorldSize);
        var testShard = group is null ? null : new DistributedShard(group.Rank, group.WorldSize, padToEqual: false);
        if (_mnistTrain is not null)
            return (DataLoader.FromMnist(_mnistTrain, s.BatchSize, s.Shuffle, generator, s.Device, shard: trainShard),
                DataLoader.FromMnist(_mnistTest!, 1000, device: s.Device, shard: testShard));
        return (DataLoader.FromDataset(_rowsTrain!, s.BatchSize, s.Shuffle, generator, s.Device, shard: trainShard),
            DataLoader.FromDataset(_rowsTest!, 1000, device: s.Device, shard: testShard));
    }
}
