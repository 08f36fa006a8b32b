using System.Globalization;
using System.Text;
using System.Text.Json;
using CudaNn.Checkpoints;
using CudaNn.Cli.Commands.Train;
using CudaNn.Data;
using CudaNn.Tests.Nn.Export;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>
/// `train --data FILE.csv --target COLUMN` with its defaults, as someone with a table runs it: the columns standardized
/// by the training rows' statistics, a regression that beats predicting the mean on data/tabular/progression.csv (442
/// rows, a target of about 150 ± 80), a classifier of a column of labels, and `export --onnx` giving a model that takes
/// and gives the table's own units.
/// </summary>
public class CsvTrainingCliTests
{
    private static string Progression => ReferenceFiles.InRepository("data/tabular/progression.csv");

    /// <summary>The test rows `train` holds out of <paramref name="csv"/> with seed 1 and the default test fraction, and its training rows.</summary>
    private static (TensorDataset Train, TensorDataset Test) SplitAsTrainDoes(string csv, string target, bool labels = false) =>
        TensorDataset.FromCsv(csv, target, labels).Split(0.2, new Generator(1 ^ RunData.SplitStream));

    private static JsonElement LastEpoch(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => JsonDocument.Parse(l).RootElement).Last(l => l.GetProperty("event").GetString() == "epoch");

    [Test]
    public void Regression_WithTheDefaults_BeatsPredictingTheMean()
    {
        using var dir = new TempDirectory();
        var run = Run("train", "--task", "regression", "--data", Progression, "--target", "progression", "--device", "cpu", "--json",
            "--save", dir.File("p.safetensors"));
        Assert.That(run.Code, Is.Zero, run.Error);
        var last = LastEpoch(run.Output);
        Assert.That(last.GetProperty("epoch").GetInt32(), Is.EqualTo(TrainCommand.TableEpochs), "a CSV's default epochs");

        // The baseline a model must beat: every test row predicted as the training rows' mean, in the file's units.
        var (train, test) = SplitAsTrainDoes(Progression, "progression");
        double mean = Standardizer.Fit(train, targets: true).TargetMean![0];
        float[] truth = TargetsOf(test);
        double meanRmse = Math.Sqrt(truth.Average(y => (y - mean) * (y - mean)));
        double rmse = last.GetProperty("test_rmse").GetDouble();
        TestContext.Out.WriteLine($"test RMSE {rmse:F2}; predicting the training mean {meanRmse:F2}");
        // The target's noise alone leaves about 54 of the mean's 75 to 80; a fit that learned nothing would sit at 1.0.
        Assert.That(rmse, Is.LessThan(0.85 * meanRmse), "the defaults fit the table better than its mean");
    }

    [Test]
    public void Standardization_IsTheTrainingRows_AndTheExportedModelWorksInTheTablesUnits()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("p.safetensors"), onnx = dir.File("p.onnx");
        var run = Run("train", "--task", "regression", "--data", Progression, "--target", "progression", "--epochs", "4", "--device", "cpu",
            "--json", "--save", checkpoint);
        Assert.That(run.Code, Is.Zero, run.Error);
        double reported = LastEpoch(run.Output).GetProperty("test_rmse").GetDouble();

        // The statistics in the checkpoint are the training rows' own, computed here from the file's text in float64; the
        // run reads the cells as float32 first, which moves each by at most 6e-8 of itself.
        var (train, test) = SplitAsTrainDoes(Progression, "progression");
        var file = SafetensorsReader.Read(checkpoint);
        Assert.That(file.Metadata[TrainSettings.StandardizeKey], Is.EqualTo("true"));
        var saved = Standardizer.Read(file)!;
        string[] lines = File.ReadAllLines(Progression);
        var trainRows = TrainRowsOf(lines, train.Count);
        for (int c = 0; c < 10; c++)
        {
            double columnMean = trainRows.Average(r => r[c]);
            double deviation = Math.Sqrt(trainRows.Average(r => (r[c] - columnMean) * (r[c] - columnMean)));
            Assert.That(saved.FeatureMean[c], Is.EqualTo(columnMean).Within(1e-5).Percent, $"column {c}'s mean");
            Assert.That(saved.FeatureScale[c], Is.EqualTo(deviation).Within(1e-5).Percent, $"column {c}'s deviation");
        }
        double targetMean = trainRows.Average(r => r[10]);
        Assert.That(saved.TargetMean![0], Is.EqualTo(targetMean).Within(1e-5).Percent, "the target's mean");

        // The exported graph takes the raw test rows and gives raw predictions: their RMSE is the one the run reported.
        var export = Run("export", "--checkpoint", checkpoint, "--onnx", onnx);
        Assert.That(export.Code, Is.Zero, export.Error);
        float[] predictions = OnnxExportTests.RunOnnx(File.ReadAllBytes(onnx), FeaturesOf(test), test.Count, inputs: 10, outputs: 1);
        float[] truth = TargetsOf(test);
        double rmse = Math.Sqrt(predictions.Zip(truth, (p, y) => ((double)p - y) * ((double)p - y)).Average());
        // Folding rounds the weights to float32 once more: the raw-unit RMSE agrees to 1e-4 relative.
        Assert.That(rmse, Is.EqualTo(reported).Within(1e-2).Percent);
    }

    [Test]
    public void Classifier_OfACsvColumn_LearnsItsClasses()
    {
        using var dir = new TempDirectory();
        string csv = dir.File("blobs.csv"), checkpoint = dir.File("blobs.safetensors"), onnx = dir.File("blobs.onnx");
        WriteBlobs(csv, Seeded.Random(41));
        string plot = dir.File("blobs.png");
        var run = Run("train", "--data", csv, "--target", "kind", "--device", "cpu", "--json", "--save", checkpoint, "--plot", plot);
        Assert.That(run.Code, Is.Zero, run.Error);
        Plots.PngAssert.IsPicture(plot, 800, 500);
        var last = LastEpoch(run.Output);
        Assert.That(last.GetProperty("test_accuracy").GetDouble(), Is.GreaterThanOrEqualTo(0.95), "three well-separated classes");

        var file = SafetensorsReader.Read(checkpoint);
        Assert.That(file.Metadata[TrainSettings.TaskKey], Is.EqualTo("classification"));
        Assert.That(file.Metadata[TrainSettings.TargetKey], Is.EqualTo("kind"));
        Assert.That(file.Get("fc3.weight").Shape, Is.EqualTo(new long[] { 3, 64 }), "labels 0, 1, 2: three classes");
        Assert.That(Standardizer.Read(file)!.TargetMean, Is.Null, "labels are never scaled");

        // The exported classifier reads the raw features: its arg-max on the test rows is as accurate as the run said.
        Assert.That(Run("export", "--checkpoint", checkpoint, "--onnx", onnx).Code, Is.Zero);
        var (_, test) = SplitAsTrainDoes(csv, "kind", labels: true);
        float[] logits = OnnxExportTests.RunOnnx(File.ReadAllBytes(onnx), FeaturesOf(test), test.Count, inputs: 4, outputs: 3);
        int[] labels = LabelsOf(test);
        int correct = Enumerable.Range(0, test.Count).Count(i => ArgMax(logits.AsSpan(i * 3, 3)) == labels[i]);
        Assert.That((double)correct / test.Count, Is.EqualTo(last.GetProperty("test_accuracy").GetDouble()).Within(1e-12));

        var eval = Run("eval", "--checkpoint", checkpoint);
        Assert.That(eval.Code, Is.EqualTo(1));
        Assert.That(eval.Error, Does.Contain("holds a classifier of CSV column 'kind'; eval and predict read MNIST images"));
    }

    [TestCase("a,kind\n1,0\n2,0\n3,0\n4,0\n5,0\n", "--target kind: every row of", "has class 0; a classifier needs at least two classes")]
    [TestCase("a,kind\n1,0\n2,1.5\n3,0\n", "t.csv:3: column 'kind' holds '1.5', not a class label", "")]
    [TestCase("a,kind\n1,0\n2,70000\n3,1\n4,0\n5,1\n", "has class label 70000; labels count classes from 0, at most 65535", "")]
    public void BadLabels_AreNamed(string contents, string message, string more)
    {
        using var dir = new TempDirectory();
        string csv = dir.File("t.csv");
        File.WriteAllText(csv, contents);
        var run = Run("train", "--data", csv, "--target", "kind", "--epochs", "1", "--device", "cpu", "--save", dir.File("x.safetensors"));
        Assert.That(run.Code, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain(message).And.Contain(more));
        Assert.That(File.Exists(dir.File("x.safetensors")), Is.False, "nothing written");
    }

    /// <summary>300 rows of three Gaussian blobs in four features of very different scales (a classifier sees them only standardized).</summary>
    private static void WriteBlobs(string path, Random random)
    {
        double[][] centres = [[0, 0, 0, 0], [3, -3, 3, 0], [-3, 3, 0, 3]];
        double[] scales = [1, 1000, 0.001, 50];
        var text = new StringBuilder("a,b,c,d,kind\n");
        for (int row = 0; row < 300; row++)
        {
            int kind = row % 3;
            var cells = Enumerable.Range(0, 4).Select(f => ((centres[kind][f] + Gaussian(random)) * scales[f]).ToString("R", CultureInfo.InvariantCulture));
            text.Append(string.Join(',', cells)).Append(',').Append(kind).Append('\n');
        }
        File.WriteAllText(path, text.ToString());
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>The file's rows (as parsed here, in float64) that `train` trained on: those its split did not hold out.</summary>
    private static List<double[]> TrainRowsOf(string[] lines, int expected)
    {
        var all = lines.Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(',').Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var testRows = new Generator(1 ^ RunData.SplitStream).Permutation(all.Count).Take((int)Math.Round(all.Count * 0.2)).ToHashSet();
        var train = all.Where((_, i) => !testRows.Contains(i)).ToList();
        Assert.That(train, Has.Count.EqualTo(expected));
        return train;
    }

    private static float[] FeaturesOf(TensorDataset rows) => rows.Features;

    private static float[] TargetsOf(TensorDataset rows) => (float[])rows.Targets;

    private static int[] LabelsOf(TensorDataset rows) => (int[])rows.Targets;
}
