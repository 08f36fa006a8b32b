using CudaNn.Checkpoints;
using CudaNn.Nn;

namespace CudaNn.Data;

/// <summary>
/// Each column shifted by its mean and divided by its standard deviation, both fitted on the training rows (sklearn's
/// StandardScaler: the population deviation, and 1 for a column that never changes). Features always; float targets
/// too when asked, so a regression learns numbers near 0 and 1 whatever units its table uses.
/// <code>
/// var scaler = Standardizer.Fit(train, targets: true);
/// var (scaledTrain, scaledTest) = (scaler.Transform(train), scaler.Transform(test));
/// // ... train on the scaled rows, then let the model take and give the table's own units:
/// scaler.FoldInto(model);
/// </code>
/// </summary>
public sealed class Standardizer
{
    /// <summary>The names of a standardizer's tensors in a checkpoint start with this; models ignore them when loading.</summary>
    public const string TensorPrefix = ModelCheckpoint.TrainingStatePrefix + "standardize.";

    private const string FeatureMeanName = TensorPrefix + "feature_mean";
    private const string FeatureScaleName = TensorPrefix + "feature_scale";
    private const string TargetMeanName = TensorPrefix + "target_mean";
    private const string TargetScaleName = TensorPrefix + "target_scale";

    private readonly double[] _featureMean, _featureScale;
    private readonly double[]? _targetMean, _targetScale;

    private Standardizer(double[] featureMean, double[] featureScale, double[]? targetMean, double[]? targetScale) =>
        (_featureMean, _featureScale, _targetMean, _targetScale) = (featureMean, featureScale, targetMean, targetScale);

    /// <summary>Each feature column's training mean.</summary>
    public IReadOnlyList<double> FeatureMean => _featureMean;

    /// <summary>Each feature column's training standard deviation (1 where the column is constant).</summary>
    public IReadOnlyList<double> FeatureScale => _featureScale;

    /// <summary>Each target column's training mean; null when the targets are left as they are (class labels, or not asked).</summary>
    public IReadOnlyList<double>? TargetMean => _targetMean;

    /// <summary>Each target column's training standard deviation; null when the targets are left as they are.</summary>
    public IReadOnlyList<double>? TargetScale => _targetScale;

    /// <summary>
    /// The statistics of <paramref name="training"/>'s columns: features [M, F] always, and float targets [M, T] when
    /// <paramref name="targets"/> (class labels are never scaled). Computed in float64, two passes, so they do not depend
    /// on the rows' order beyond rounding and are the same on every machine and every rank.
    /// </summary>
    public static Standardizer Fit(TensorDataset training, bool targets)
    {
        ArgumentNullException.ThrowIfNull(training);
        if (training.FeatureShape.Count != 2)
            throw new ArgumentException($"standardizing needs features [rows, columns], not [{string.Join(", ", training.FeatureShape)}]", nameof(training));
        if (training.Count == 0) throw new ArgumentException("standardizing needs at least one training row", nameof(training));
        var (featureMean, featureScale) = Columns(training.Features, training.FeatureShape[1]);
        if (!targets) return new Standardizer(featureMean, featureScale, null, null);
        if (training.TargetType != DType.Float32)
            throw new ArgumentException($"targets that are {training.TargetType.Name()} class labels are not standardized; pass targets: false", nameof(training));
        var (targetMean, targetScale) = Columns((float[])training.Targets, training.Targets.Length / training.Count);
        return new Standardizer(featureMean, featureScale, targetMean, targetScale);
    }

    private static (double[] Mean, double[] Scale) Columns(float[] values, int width)
    {
        int rows = values.Length / width;
        var mean = new double[width];
        var scale = new double[width];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < width; c++) mean[c] += values[r * width + c];
        for (int c = 0; c < width; c++) mean[c] /= rows;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < width; c++)
            {
                double d = values[r * width + c] - mean[c];
                scale[c] += d * d;
            }
        for (int c = 0; c < width; c++)
        {
            double deviation = Math.Sqrt(scale[c] / rows);
            // A column that never changes (or barely, next to its size) carries nothing to scale up: it is only centred.
            scale[c] = deviation > 1e-12 * Math.Max(1, Math.Abs(mean[c])) ? deviation : 1;
        }
        return (mean, scale);
    }

    /// <summary>New rows with every feature (and, when fitted, every target) as (value - mean) / deviation.</summary>
    public TensorDataset Transform(TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckWidths(data);
        var features = Scaled(data.Features, _featureMean, _featureScale);
        if (_targetMean is null) return data.WithValues(features, data.Targets);
        return data.WithValues(features, Scaled((float[])data.Targets, _targetMean, _targetScale!));
    }

    private void CheckWidths(TensorDataset data)
    {
        if (data.FeatureShape.Count != 2 || data.FeatureShape[1] != _featureMean.Length)
            throw new ArgumentException($"these statistics are for {_featureMean.Length} feature columns; the rows have features [{string.Join(", ", data.FeatureShape)}]");
        if (_targetMean is null) return;
        int width = data.Count == 0 ? _targetMean.Length : data.Targets.Length / data.Count;
        if (data.TargetType != DType.Float32 || width != _targetMean.Length)
            throw new ArgumentException($"these statistics are for {_targetMean.Length} float target column(s); the rows have {data.TargetType.Name()} targets [{string.Join(", ", data.TargetShape)}]");
    }

    private static float[] Scaled(float[] values, double[] mean, double[] scale)
    {
        var scaled = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int c = i % mean.Length;
            scaled[i] = (float)((values[i] - mean[c]) / scale[c]);
        }
        return scaled;
    }

    /// <summary>A mean squared error of standardized targets in the targets' own units squared (one target column).</summary>
    public double UnscaledMeanSquaredError(double standardized) =>
        _targetScale is null ? standardized
        : _targetScale.Length == 1 ? standardized * _targetScale[0] * _targetScale[0]
        : throw new InvalidOperationException($"a mean over {_targetScale.Length} target columns of different scales cannot be unscaled as one number");

    /// <summary>
    /// Folds the statistics into a model trained on standardized rows, so that it takes raw features and (when the
    /// targets were standardized) gives raw targets, and no longer needs this standardizer: the first layer's weights are
    /// divided by the feature deviations and its bias takes the shift; the last layer's weights and bias are multiplied
    /// by the target deviations and its bias takes the target means. The model must be a <see cref="Sequential"/> that
    /// begins with a Linear (with a bias) and, for the targets, ends with one; exact up to float32 rounding.
    /// </summary>
    public void FoldInto(Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Count == 0 || model[0] is not Linear first || first.Bias is null)
            throw new ArgumentException($"folding the features' statistics needs a model that begins with a Linear with a bias; it begins with {(model.Count == 0 ? "nothing" : model[0].ToString())}", nameof(model));
        if (first.InFeatures != _featureMean.Length)
            throw new ArgumentException($"the model's first layer takes {first.InFeatures} inputs; these statistics are for {_featureMean.Length} features", nameof(model));
        Linear? last = null;
        if (_targetMean is not null)
        {
            last = model[model.Count - 1] as Linear;
            if (last?.Bias is null)
                throw new ArgumentException($"folding the targets' statistics needs a model that ends with a Linear with a bias; it ends with {model[model.Count - 1]}", nameof(model));
            if (last.OutFeatures != _targetMean.Length)
                throw new ArgumentException($"the model's last layer gives {last.OutFeatures} outputs; these statistics are for {_targetMean.Length} targets", nameof(model));
        }

        // y = W (x - m) / s + b = (W / s) x + (b - W (m / s)), one output row at a time.
        double[] weight = Array.ConvertAll(first.Weight.Value.ToArray<float>(), v => (double)v);
        double[] bias = Array.ConvertAll(first.Bias.Value.ToArray<float>(), v => (double)v);
        int inputs = first.InFeatures;
        for (int o = 0; o < first.OutFeatures; o++)
            for (int i = 0; i < inputs; i++)
            {
                weight[o * inputs + i] /= _featureScale[i];
                bias[o] -= weight[o * inputs + i] * _featureMean[i];
            }
        Store(first, weight, bias);

        if (last is null || _targetMean is null || _targetScale is null) return;
        // raw = t * y + u for the last layer's y = W h + b: W becomes t W and b becomes t b + u.
        weight = Array.ConvertAll(last.Weight.Value.ToArray<float>(), v => (double)v);
        bias = Array.ConvertAll(last.Bias!.Value.ToArray<float>(), v => (double)v);
        for (int o = 0; o < last.OutFeatures; o++)
        {
            for (int i = 0; i < last.InFeatures; i++) weight[o * last.InFeatures + i] *= _targetScale[o];
            bias[o] = bias[o] * _targetScale[o] + _targetMean[o];
        }
        Store(last, weight, bias);
    }

    private static void Store(Linear layer, double[] weight, double[] bias)
    {
        layer.Weight.Value.CopyFrom<float>(Array.ConvertAll(weight, v => (float)v));
        layer.Bias!.Value.CopyFrom<float>(Array.ConvertAll(bias, v => (float)v));
    }

    /// <summary>The statistics as float64 checkpoint tensors under <see cref="TensorPrefix"/>.</summary>
    public IEnumerable<SafetensorsEntry> ToEntries()
    {
        yield return SafetensorsEntry.FromDoubles(FeatureMeanName, [_featureMean.Length], _featureMean);
        yield return SafetensorsEntry.FromDoubles(FeatureScaleName, [_featureScale.Length], _featureScale);
        if (_targetMean is null) yield break;
        yield return SafetensorsEntry.FromDoubles(TargetMeanName, [_targetMean.Length], _targetMean);
        yield return SafetensorsEntry.FromDoubles(TargetScaleName, [_targetScale!.Length], _targetScale);
    }

    /// <summary>
    /// The statistics a checkpoint holds, or null when it holds none. Every number must be finite and every deviation
    /// positive; anything else is refused, naming the tensor.
    /// </summary>
    public static Standardizer? Read(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Find(FeatureMeanName) is null)
        {
            if (file.Tensors.FirstOrDefault(t => t.Name.StartsWith(TensorPrefix, StringComparison.Ordinal)) is { } stray)
                throw new CheckpointFormatException(file.Source, $"tensor '{stray.Name}' without '{FeatureMeanName}'");
            return null;
        }
        double[] featureMean = Vector(file, FeatureMeanName, null, scale: false);
        double[] featureScale = Vector(file, FeatureScaleName, featureMean.Length, scale: true);
        if (file.Find(TargetMeanName) is null && file.Find(TargetScaleName) is null)
            return new Standardizer(featureMean, featureScale, null, null);
        double[] targetMean = Vector(file, TargetMeanName, null, scale: false);
        return new Standardizer(featureMean, featureScale, targetMean, Vector(file, TargetScaleName, targetMean.Length, scale: true));
    }

    private static double[] Vector(SafetensorsFile file, string name, int? length, bool scale)
    {
        var entry = file.Get(name);
        if (entry.Shape.Count != 1 || entry.Shape[0] == 0 || length is { } n && entry.Shape[0] != n)
            throw new CheckpointFormatException(file.Source, $"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}]; expected [{(length is { } l ? l.ToString(System.Globalization.CultureInfo.InvariantCulture) : "columns")}]");
        double[] values = file.GetDoubles(name);
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]) || scale && !(values[i] > 0))
                throw new CheckpointFormatException(file.Source, $"tensor '{name}'[{i}] is {values[i]}; {(scale ? "a deviation is a positive finite number" : "a mean is a finite number")}");
        return values;
    }
}
