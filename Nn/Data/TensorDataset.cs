using System.Globalization;
using System.Text;

namespace CudaNn.Data;

/// <summary>
/// Samples as two tensors on the host (torch.utils.data.TensorDataset(features, targets)): float features [M, ...] and
/// targets that are float [M] or [M, T] (regression) or int32 [M] (class labels). A <see cref="DataLoader"/> copies
/// them to its device once and gathers batches there.
/// <code>
/// var data = TensorDataset.FromCsv("houses.csv", targetColumn: "price");
/// using var loader = DataLoader.FromDataset(data, batchSize: 32, shuffle: true, device: device);
/// </code>
/// </summary>
public sealed class TensorDataset
{
    public TensorDataset(float[] features, int[] featureShape, float[] targets, int[] targetShape)
        : this(features, featureShape, (Array)targets, targetShape, DType.Float32)
    {
    }

    public TensorDataset(float[] features, int[] featureShape, int[] labels)
        : this(features, featureShape, labels, [labels.Length], DType.Int32)
    {
    }

    private TensorDataset(float[] features, int[] featureShape, Array targets, int[] targetShape, DType targetType)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(featureShape);
        ArgumentNullException.ThrowIfNull(targetShape);
        if (featureShape.Length == 0 || featureShape.Any(d => d < 0) || featureShape.Aggregate(1L, (a, d) => a * d) != features.Length)
            throw new ArgumentException($"features hold {features.Length} values, not the shape [{string.Join(", ", featureShape)}]");
        if (targetShape.Length == 0 || targetShape.Any(d => d < 0) || targetShape.Aggregate(1L, (a, d) => a * d) != targets.Length)
            throw new ArgumentException($"targets hold {targets.Length} values, not the shape [{string.Join(", ", targetShape)}]");
        if (targetShape[0] != featureShape[0])
            throw new ArgumentException($"{featureShape[0]} samples of features but {targetShape[0]} of targets");
        (Features, FeatureShape, Targets, TargetShape, TargetType) = (features, featureShape.ToArray(), targets, targetShape.ToArray(), targetType);
    }

    /// <summary>Samples (len(dataset)).</summary>
    public int Count => FeatureShape[0];

    internal float[] Features { get; }
    public IReadOnlyList<int> FeatureShape { get; }
    internal Array Targets { get; }
    public IReadOnlyList<int> TargetShape { get; }

    /// <summary>Float32 for regression targets, Int32 for class labels.</summary>
    public DType TargetType { get; }

    /// <summary>
    /// For class labels: one more than the largest label, the number of classes cross-entropy counts (0 with no rows).
    /// </summary>
    /// <exception cref="InvalidOperationException">The targets are float32 values, not class labels.</exception>
    public int ClassCount => TargetType == DType.Int32
        ? ((int[])Targets).DefaultIfEmpty(-1).Max() + 1
        : throw new InvalidOperationException("the targets are float32 values, not class labels");

    /// <summary>The most columns a CSV file may have (features and target).</summary>
    public const int MaxCsvColumns = 10_000;

    /// <summary>The longest line a CSV file may have, in characters (1 MiB): a file with no line breaks is refused after reading that much.</summary>
    public const int MaxCsvLineLength = 1 << 20;

    /// <summary>The most numbers a CSV file may hold in all (2^28, 1 GiB as float32).</summary>
    public const long MaxCsvValues = 1L << 28;

    /// <summary>
    /// A CSV file with a header row: <paramref name="targetColumn"/> (by name) becomes the targets, every other column a
    /// feature. Targets are float [M, 1] for regression, or int32 class labels [M] with <paramref name="labels"/>. Numbers
    /// are read in the invariant culture; a bad cell is reported with its line and column. Column names must differ, and
    /// the file must keep within <see cref="MaxCsvColumns"/>, <see cref="MaxCsvLineLength"/> and <see cref="MaxCsvValues"/>;
    /// messages quote at most 200 characters of it.
    /// </summary>
    public static TensorDataset FromCsv(string path, string targetColumn, bool labels = false)
    {
        ArgumentNullException.ThrowIfNull(targetColumn);
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV file '{path}' does not exist", path);
        using var reader = new StreamReader(path);
        var buffer = new StringBuilder();
        string header = ReadLine(reader, buffer, path, 1) ?? throw new FormatException($"{path}: the file is empty; expected a header row");
        string[] names = Columns(header, path);
        int target = Array.IndexOf(names, targetColumn);
        if (target < 0)
            throw new FormatException($"{path}: no column {InputText.Quote(targetColumn)}; the header has {InputText.Shorten(string.Join(", ", names))}");
        if (names.Length < 2) throw new FormatException($"{path}: only the target column; there are no features");
        var features = new List<float>();
        var targets = new List<float>();
        var classes = new List<int>();
        int line = 1;
        for (string? text; (text = ReadLine(reader, buffer, path, line + 1)) is not null;)
        {
            line++;
            if (text.Trim().Length == 0) continue;
            string[] cells = SplitCells(text, path, line);
            if (cells.Length != names.Length)
                throw new FormatException($"{path}:{line}: {cells.Length} cells where the header has {names.Length}");
            if ((long)(features.Count + targets.Count + classes.Count) + cells.Length > MaxCsvValues)
                throw new FormatException($"{path}:{line}: more than the {MaxCsvValues:N0} numbers a CSV file may hold");
            for (int c = 0; c < cells.Length; c++)
            {
                string cell = cells[c].Trim();
                if (c == target && labels)
                {
                    if (!int.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out int label) || label < 0)
                        throw new FormatException($"{path}:{line}: column {InputText.Quote(names[c])} holds {InputText.Quote(cell)}, not a class label (an integer, 0 or above)");
                    classes.Add(label);
                    continue;
                }
                if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
                    throw new FormatException($"{path}:{line}: column {InputText.Quote(names[c])} holds {InputText.Quote(cell)}, not a finite number");
                (c == target ? targets : features).Add(value);
            }
        }
        int count = labels ? classes.Count : targets.Count;
        if (count == 0) throw new FormatException($"{path}: no rows after the header");
        int[] featureShape = [count, names.Length - 1];
        return labels
            ? new TensorDataset(features.ToArray(), featureShape, classes.ToArray())
            : new TensorDataset(features.ToArray(), featureShape, targets.ToArray(), [count, 1]);
    }

    /// <summary>The header's column names, at most <see cref="MaxCsvColumns"/>, no two alike.</summary>
    private static string[] Columns(string header, string path)
    {
        int count = header.Count(c => c == ',') + 1;
        if (count > MaxCsvColumns)
            throw new FormatException($"{path}: the header has {count:N0} columns, more than the {MaxCsvColumns:N0} a CSV file may have");
        string[] names = SplitCells(header, path, 1).Select(n => n.Trim()).ToArray();
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < names.Length; c++)
            if (!first.TryAdd(names[c], c))
                throw new FormatException($"{path}: columns {first[names[c]] + 1} and {c + 1} are both named {InputText.Quote(names[c])}; each column needs its own name");
        return names;
    }

    /// <summary>
    /// A line's cells as RFC 4180 writes them: separated by commas, each optionally in double quotes (as Excel and R
    /// quote numbers), where a comma is text and "" is one quote. The quotes are taken off.
    /// </summary>
    internal static string[] SplitCells(string text, string path, int line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (quoted)
            {
                if (ch != '"') cell.Append(ch);
                else if (i + 1 < text.Length && text[i + 1] == '"') cell.Append(text[++i]);
                else quoted = false;
            }
            else if (ch == ',')
            {
                cells.Add(cell.ToString());
                cell.Clear();
            }
            else if (ch == '"' && cell.ToString().Trim().Length == 0)
            {
                cell.Clear();
                quoted = true;
            }
            else
            {
                cell.Append(ch);
            }
        }
        if (quoted) throw new FormatException($"{path}:{line}: a quoted cell is not closed");
        cells.Add(cell.ToString());
        return cells.ToArray();
    }

    /// <summary>The next line without its end (\n or \r\n), or null at the end; a line past <see cref="MaxCsvLineLength"/> is refused as soon as it is.</summary>
    private static string? ReadLine(StreamReader reader, StringBuilder buffer, string path, int line)
    {
        buffer.Clear();
        for (int c; (c = reader.Read()) >= 0;)
        {
            if (c == '\n') return buffer.Length > 0 && buffer[^1] == '\r' ? buffer.ToString(0, buffer.Length - 1) : buffer.ToString();
            if (buffer.Length == MaxCsvLineLength)
                throw new FormatException($"{path}:{line}: the line is longer than the {MaxCsvLineLength:N0} characters a CSV line may have");
            buffer.Append((char)c);
        }
        return buffer.Length > 0 ? buffer.ToString() : null;
    }

    /// <summary>
    /// The rows split at random into a training and a test set (as sklearn's train_test_split): round(count *
    /// <paramref name="testFraction"/>) rows, drawn by <paramref name="generator"/>'s permutation, go to the test set, and
    /// both keep the file's order among themselves.
    /// </summary>
    public (TensorDataset Train, TensorDataset Test) Split(double testFraction, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "the test fraction lies strictly between 0 and 1");
        int testCount = (int)Math.Round(Count * testFraction);
        if (testCount == 0 || testCount == Count)
            throw new ArgumentException($"a test fraction of {testFraction} of {Count} rows leaves {(testCount == 0 ? "no test" : "no training")} rows");
        var testRows = generator.Permutation(Count).Take(testCount).ToHashSet();
        int[] test = Enumerable.Range(0, Count).Where(testRows.Contains).ToArray();
        int[] train = Enumerable.Range(0, Count).Where(r => !testRows.Contains(r)).ToArray();
        return (Rows(train), Rows(test));
    }

    /// <summary>These rows' shapes with other values (the same number of each), as standardizing makes them.</summary>
    internal TensorDataset WithValues(float[] features, Array targets) =>
        new(features, FeatureShape.ToArray(), targets, TargetShape.ToArray(), TargetType);

    private TensorDataset Rows(int[] rows)
    {
        int featureWidth = Features.Length / Count, targetWidth = Targets.Length / Count;
        var features = new float[rows.Length * featureWidth];
        for (int i = 0; i < rows.Length; i++) Array.Copy(Features, rows[i] * featureWidth, features, i * featureWidth, featureWidth);
        var targets = Array.CreateInstance(Targets.GetType().GetElementType()!, rows.Length * targetWidth);
        for (int i = 0; i < rows.Length; i++) Array.Copy(Targets, rows[i] * targetWidth, targets, i * targetWidth, targetWidth);
        int[] featureShape = [rows.Length, .. FeatureShape.Skip(1)];
        int[] targetShape = [rows.Length, .. TargetShape.Skip(1)];
        return new TensorDataset(features, featureShape, targets, targetShape, TargetType);
    }

    /// <summary>
    /// Two IDX files (MNIST's format): features of any shape [M, ...] as floats (bytes as their values 0 to 255), and
    /// one uint8 class label per sample.
    /// </summary>
    public static TensorDataset FromIdx(string featuresPath, string labelsPath)
    {
        var features = IdxReader.Read(featuresPath);
        var labels = IdxReader.Read(labelsPath);
        if (labels.Dimensions.Length != 1)
            throw new IdxFormatException(labelsPath, $"labels must be one-dimensional, got {labels.ShapeText}");
        if (features.Dimensions[0] != labels.Dimensions[0])
            throw new IdxFormatException(labelsPath, $"{labels.Dimensions[0]} labels for {features.Dimensions[0]} samples in {featuresPath}");
        return new TensorDataset(Array.ConvertAll(features.Data, b => (float)b), features.Dimensions, Array.ConvertAll(labels.Data, b => (int)b));
    }
}
