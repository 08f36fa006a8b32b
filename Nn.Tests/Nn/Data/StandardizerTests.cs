using CudaNn.Checkpoints;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Data;

/// <summary>
/// Standardizer against sklearn's StandardScaler rule computed here in float64 (mean, population deviation, 1 for a
/// constant column), and its folding checked against the model run on standardized rows.
/// </summary>
public class StandardizerTests
{
    /// <summary>Rows whose columns have very different centres and spreads, the last one constant.</summary>
    private static TensorDataset Rows(Generator g, int count, int features = 4, int targets = 2)
    {
        double[] centre = [150, -3, 0.001, 7];
        double[] spread = [75, 0.5, 1e-4, 0];
        var x = new float[count * features];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(centre[i % features] + spread[i % features] * (g.NextDouble() * 2 - 1));
        var y = new float[count * targets];
        for (int i = 0; i < y.Length; i++) y[i] = (float)(1000 * (i % targets + 1) + 300 * g.NextDouble());
        return new TensorDataset(x, [count, features], y, [count, targets]);
    }

    [Test]
    public void Fit_GivesEachColumnsMeanAndPopulationDeviation_AndOneForAConstantColumn()
    {
        var rows = Rows(Seeded.Generator(11), 37);
        var scaler = Standardizer.Fit(rows, targets: true);
        float[] x = rows.Features, y = (float[])rows.Targets;
        for (int c = 0; c < 4; c++)
        {
            var column = Enumerable.Range(0, 37).Select(r => (double)x[r * 4 + c]).ToArray();
            double mean = column.Average(), deviation = Math.Sqrt(column.Average(v => (v - mean) * (v - mean)));
            Close.Assert(mean, scaler.FeatureMean[c], 0, 1e-12, $"feature {c}'s mean");
            Close.Assert(c == 3 ? 1 : deviation, scaler.FeatureScale[c], 0, 1e-9, $"feature {c}'s deviation");
        }
        for (int c = 0; c < 2; c++)
        {
            var column = Enumerable.Range(0, 37).Select(r => (double)y[r * 2 + c]).ToArray();
            Close.Assert(column.Average(), scaler.TargetMean![c], 0, 1e-12, $"target {c}'s mean");
        }

        var scaled = scaler.Transform(rows);
        for (int i = 0; i < 37 * 4; i++)
            Assert.That(scaled.Features[i], Is.EqualTo((float)((x[i] - scaler.FeatureMean[i % 4]) / scaler.FeatureScale[i % 4])), $"feature value {i}");
        Assert.That(scaled.Features.Where((_, i) => i % 4 == 3), Is.All.EqualTo(0f), "the constant column is only centred");
        Assert.That(Standardizer.Fit(rows, targets: false).TargetMean, Is.Null);
    }

    [Test]
    public void ClassLabels_AreNotScaled_AndOtherWidthsAreRefused()
    {
        var labelled = new TensorDataset([1, 2, 3, 4], [2, 2], [0, 1]);
        Assert.That(() => Standardizer.Fit(labelled, targets: true), Throws.ArgumentException.With.Message.Contain("int32 class labels are not standardized"));
        var scaler = Standardizer.Fit(labelled, targets: false);
        Assert.That(((int[])scaler.Transform(labelled).Targets), Is.EqualTo(new[] { 0, 1 }));
        var wider = new TensorDataset([1, 2, 3], [1, 3], [0]);
        Assert.That(() => scaler.Transform(wider), Throws.ArgumentException.With.Message.Contain("for 2 feature columns; the rows have features [1, 3]"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void FoldInto_MakesTheModelTakeAndGiveRawUnits(bool layerNorm)
    {
        var g = Seeded.Generator(12);
        var rows = Rows(g, 25);
        var scaler = Standardizer.Fit(rows, targets: true);
        Module[] hidden = layerNorm ? [new Linear(4, 8, generator: g), new LayerNorm(8), new ReLU()] : [new Linear(4, 8, generator: g), new ReLU()];
        using var model = new Sequential([.. hidden, new Linear(8, 2, generator: g)]);

        // What the model trained on standardized rows predicts, taken back to the targets' units by hand...
        var scaled = scaler.Transform(rows);
        float[] expected;
        using (GradMode.NoGrad())
        using (var input = Tensor.FromArray(scaled.Features, [25, 4]))
            expected = model.Forward(input).ToArray<float>();
        for (int i = 0; i < expected.Length; i++) expected[i] = (float)(expected[i] * scaler.TargetScale![i % 2] + scaler.TargetMean![i % 2]);

        // ...is what the folded model predicts from the raw rows.
        scaler.FoldInto(model);
        float[] actual;
        using (GradMode.NoGrad())
        using (var input = Tensor.FromArray(rows.Features, [25, 4]))
            actual = model.Forward(input).ToArray<float>();
        // The raw features reach 225 and the weights are rounded to float32 once more: 1e-5 of the targets' ~1,000-2,300.
        Close.Assert(expected, actual, 0.03, 1e-5, "folded model on raw rows");
    }

    [Test]
    public void FoldInto_RefusesAModelItDoesNotFit()
    {
        var scaler = Standardizer.Fit(Rows(Seeded.Generator(13), 5), targets: true);
        using var noBias = new Sequential(new Linear(4, 2, bias: false));
        Assert.That(() => scaler.FoldInto(noBias), Throws.ArgumentException.With.Message.Contain("begins with a Linear with a bias"));
        using var narrow = new Sequential(new Linear(3, 2));
        Assert.That(() => scaler.FoldInto(narrow), Throws.ArgumentException.With.Message.Contain("takes 3 inputs; these statistics are for 4 features"));
        using var endsInReLU = new Sequential(new Linear(4, 2), new ReLU());
        Assert.That(() => scaler.FoldInto(endsInReLU), Throws.ArgumentException.With.Message.Contain("ends with a Linear with a bias"));
    }

    [Test]
    public void Checkpoint_RoundTrips_AndRefusesBadStatistics()
    {
        var scaler = Standardizer.Fit(Rows(Seeded.Generator(14), 9), targets: true);
        var file = new SafetensorsFile("s.safetensors", scaler.ToEntries().ToList(), new Dictionary<string, string>());
        var read = Standardizer.Read(file)!;
        Assert.That(read.FeatureMean, Is.EqualTo(scaler.FeatureMean));
        Assert.That(read.FeatureScale, Is.EqualTo(scaler.FeatureScale));
        Assert.That(read.TargetMean, Is.EqualTo(scaler.TargetMean));
        Assert.That(read.TargetScale, Is.EqualTo(scaler.TargetScale));
        Assert.That(Standardizer.Read(new SafetensorsFile("none", [], new Dictionary<string, string>())), Is.Null, "a checkpoint without statistics");

        SafetensorsFile With(string name, double[] values) => new("bad.safetensors",
            scaler.ToEntries().Where(e => e.Name != name).Append(SafetensorsEntry.FromDoubles(name, [values.Length], values)).ToList(),
            new Dictionary<string, string>());
        Assert.That(() => Standardizer.Read(With("cudann.standardize.feature_scale", [1, 1, 0, 1])),
            Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("'cudann.standardize.feature_scale'[2] is 0; a deviation is a positive finite number"));
        Assert.That(() => Standardizer.Read(With("cudann.standardize.target_mean", [double.NaN, 1])),
            Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("a mean is a finite number"));
        Assert.That(() => Standardizer.Read(With("cudann.standardize.feature_scale", [1, 1])),
            Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("has shape [2]; expected [4]"));
        var stray = new SafetensorsFile("stray", [SafetensorsEntry.FromDoubles("cudann.standardize.target_mean", [1], [3.0])], new Dictionary<string, string>());
        Assert.That(() => Standardizer.Read(stray), Throws.TypeOf<CheckpointFormatException>().With.Message.Contain("without 'cudann.standardize.feature_mean'"));
    }
}
