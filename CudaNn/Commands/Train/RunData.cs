using System.Security.Cryptography;
using CudaNn.Checkpoints;
using CudaNn.Data;
using CudaNn.Distributed;
using CudaNn.Training;

namespace CudaNn.Cli.Commands.Train;

/// <summary>
/// What `train` learns from: MNIST digits from a folder, or the rows of a CSV file split into training and test rows by
/// the seed, its --target column holding class labels (classification) or the numbers to fit (regression). A CSV's
/// columns are standardized with the training rows' statistics unless --no-standardize said not to (a regression's
/// target too): the model learns in those units, and <see cref="Unscaled(EpochResult)"/> turns its losses back into the
/// table's, so every figure a run prints is in the units of the file.
/// </summary>
internal sealed class RunData
{
    // The split draws from its own stream of the seed, so it is the same on every run and on --resume, and leaves the
    // generator that initialises and shuffles as it always was.
    internal const ulong SplitStream = 0x9E3779B97F4A7C15;

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

    private RunData(TensorDataset train, TensorDataset test, int outputs, string target, string file, Standardizer? scaler)
    {
        (_rowsTrain, _rowsTest, Inputs, Outputs, TrainCount, Scaler) = (train, test, train.FeatureShape[1], outputs, train.Count, scaler);
        string classes = train.TargetType == DType.Int32 ? $" ({outputs} classes)" : "";
        string scaled = scaler is null ? "" : scaler.TargetMean is null ? ", features standardized" : ", features and target standardized";
        Description = $"{Report.Rows(train.Count, "train ")}, {Report.Rows(test.Count, "test ")}, target '{target}'{classes}{scaled}";
        _fingerprint = new(() => $"{Report.Rows(train.Count + test.Count)} of {train.FeatureShape[1] + 1} columns, sha256 {RankAgreement.FileDigest(file)}");
    }

    private readonly Lazy<string> _fingerprint;

    public int Inputs { get; }
    public int Outputs { get; }
    public int TrainCount { get; }
    public string Description { get; }

    /// <summary>The statistics a CSV's columns were standardized with; null for digits and under --no-standardize.</summary>
    public Standardizer? Scaler { get; }

    /// <summary>An epoch's training loss in the table's units (a regression's MSE, not the standardized one).</summary>
    public EpochResult Unscaled(EpochResult result) =>
        Scaler?.TargetScale is null ? result : result with { TrainLoss = Scaler.UnscaledMeanSquaredError(result.TrainLoss) };

    /// <summary>A running training loss in the table's units.</summary>
    public BatchProgress Unscaled(BatchProgress progress) =>
        Scaler?.TargetScale is null ? progress : progress with { RunningLoss = Scaler.UnscaledMeanSquaredError(progress.RunningLoss) };

    /// <summary>A test evaluation in the table's units.</summary>
    public EvaluationResult Unscaled(EvaluationResult result) =>
        Scaler?.TargetScale is null ? result : result with { MeanLoss = Scaler.UnscaledMeanSquaredError(result.MeanLoss) };

    /// <summary>The data's sizes and a SHA-256 of its contents, which every rank of a job must share; computed when first asked.</summary>
    public string Fingerprint => _fingerprint.Value;

    /// <summary>
    /// The run's data. A CSV is standardized with the statistics a resumed checkpoint holds (the ones its weights were
    /// trained in) or, starting afresh, the training rows'; every rank reads the same file and splits it the same way,
    /// so every rank computes the same statistics.
    /// </summary>
    public static RunData Load(TrainSettings s, SafetensorsFile? resumed)
    {
        if (s.Target is null)
        {
            var (train, test) = MnistDataSet.LoadSplits(s.DataDirectory);
            return new RunData(train, test);
        }
        if (!File.Exists(s.DataDirectory))
            throw new CliException(resumed is not null
                ? $"--resume: the checkpoint learned column '{s.Target}' of a CSV file; give that file: --task {s.Task.ToString().ToLowerInvariant()} --target {s.Target} --data FILE.csv"
                : $"--data: file '{s.DataDirectory}' does not exist", CliApp.RunError);
        bool labels = s.Task == TrainingTask.Classification;
        try
        {
            var rows = TensorDataset.FromCsv(s.DataDirectory, s.Target, labels);
            int outputs = labels ? ClassCount(rows, s) : rows.TargetShape[1];
            var (train, test) = rows.Split(s.TestFraction, new Generator(s.Seed ^ SplitStream));
            var scaler = !s.Standardize ? null
                : resumed is not null ? Standardizer.Read(resumed)
                    ?? throw new CliException($"--resume: '{s.Resume}' records standardized columns but holds no statistics", CliApp.RunError)
                : Standardizer.Fit(train, targets: !labels);
            if (scaler is not null) (train, test) = (scaler.Transform(train), scaler.Transform(test));
            return new RunData(train, test, outputs, s.Target, s.DataDirectory, scaler);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new CliException($"--data: {e.Message}", CliApp.RunError);
        }
    }

    /// <summary>
    /// A CSV classifier's number of classes: one more than its largest label, as PyTorch's cross-entropy counts them, and
    /// at least two; a label the model could never learn apart from the others would be a silent mistake.
    /// </summary>
    private static int ClassCount(TensorDataset rows, TrainSettings s)
    {
        int largest = rows.ClassCount - 1;
        if (largest < 1)
            throw new CliException($"--target {s.Target}: every row of '{s.DataDirectory}' has class {largest}; a classifier needs at least two classes", CliApp.RunError);
        if (largest >= CliLimits.Classes)
            throw new CliException($"--target {s.Target}: '{s.DataDirectory}' has class label {largest}; labels count classes from 0, at most {CliLimits.Classes - 1}", CliApp.RunError);
        return largest + 1;
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
