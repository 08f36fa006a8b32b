using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CudaNn.Benchmarks;

/// <summary>The median, fastest and slowest of a row's timed samples, in microseconds.</summary>
public readonly record struct SampleStatistics(int Count, double Median, double Min, double Max)
{
    /// <summary>(slowest − fastest) / median, in percent: how much the samples disagree.</summary>
    public double SpreadPercent => Median > 0 ? 100 * (Max - Min) / Median : 0;

    public static SampleStatistics Of(IReadOnlyList<double> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("no samples", nameof(samples));
        foreach (double s in samples)
            if (!double.IsFinite(s) || s < 0) throw new ArgumentException($"a sample of {s} µs is no time", nameof(samples));
        var sorted = samples.Order().ToArray();
        int mid = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new SampleStatistics(sorted.Length, median, sorted[0], sorted[^1]);
    }
}

/// <summary>
/// One measured row of `cudann bench`: a <paramref name="Section"/> ("kernels", "gemms", "steps", "epochs"), what ran
/// (<paramref name="Name"/>) at which <paramref name="Size"/>, and its time. Rows of two reports are the same
/// measurement when section, name and size agree; rows of the same section and size are comparable.
/// </summary>
public sealed record BenchmarkRow(string Section, string Name, string Size, SampleStatistics Microseconds)
{
    /// <summary>Bytes the work must move (each input read once, each output written once); null where it is not bandwidth-bound.</summary>
    public long? Bytes { get; init; }

    /// <summary>Floating-point operations of the work (2·m·n·k for a GEMM).</summary>
    public double? Flop { get; init; }

    /// <summary>This row's bandwidth as a percentage of the device-to-device copy's at the same size.</summary>
    public double? PercentOfCopy { get; init; }

    /// <summary>Training steps in one sample (an epoch's steps; 1 for a step row).</summary>
    public long? Steps { get; init; }

    /// <summary>Operations in the captured step's graph; null for work that is not a captured step.</summary>
    public int? GraphNodes { get; init; }

    public double? GigabytesPerSecond => Bytes is { } b && Microseconds.Median > 0 ? b / (Microseconds.Median * 1e3) : null;

    public double? GigaflopsPerSecond => Flop is { } f && Microseconds.Median > 0 ? f / (Microseconds.Median * 1e3) : null;

    public double? MicrosecondsPerStep => Steps is > 0 and { } s ? Microseconds.Median / s : null;
}

/// <summary>
/// What `cudann bench` measured on one device, with where and when; written and read as JSON (the PyTorch baseline
/// script writes the same layout, so `--compare` can set its rows beside these) and written as CSV.
/// </summary>
public sealed record BenchmarkReport(string Source, string Device, bool Emulated, DateTime Date, IReadOnlyList<BenchmarkRow> Rows)
{
    /// <summary>The JSON layout's version: a reader refuses another.</summary>
    public const int Layout = 1;

    /// <summary>The largest file <see cref="Read"/> takes: thousands of rows are far below it.</summary>
    public const long MaxFileBytes = 16 << 20;

    /// <summary>The device's L2 cache in bytes, which cold rows overwrote between samples; 0 on the emulator.</summary>
    public long L2CacheBytes { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    public string ToJson() => JsonSerializer.Serialize(new FileJson(Layout, Source, Device, Emulated,
        Date.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), L2CacheBytes,
        Rows.Select(r => new RowJson(r.Section, r.Name, r.Size, r.Microseconds.Count, r.Microseconds.Median, r.Microseconds.Min, r.Microseconds.Max,
            r.Bytes, r.Flop, r.Steps, r.GraphNodes, r.GigabytesPerSecond, r.PercentOfCopy, r.GigaflopsPerSecond)).ToList<RowJson?>()), Json);

    /// <summary>
    /// A report from its JSON; <paramref name="source"/> names the file in errors. Anything that is not a report of this
    /// layout (malformed, missing fields, negative or non-finite times) is refused with an <see cref="InvalidDataException"/> saying what.
    /// </summary>
    public static BenchmarkReport FromJson(string text, string source)
    {
        FileJson? file;
        try
        {
            file = JsonSerializer.Deserialize<FileJson>(text, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{source}' is not a bench report: {e.Message}", e);
        }
        if (file is null) throw new InvalidDataException($"'{source}' is not a bench report: it holds null");
        if (file.Layout != Layout) throw new InvalidDataException($"'{source}' is a bench report of layout {file.Layout}; this CudaNn reads layout {Layout}");
        if (file.Rows is null) throw new InvalidDataException($"'{source}' has no \"rows\"");
        var rows = new List<BenchmarkRow>(file.Rows.Count);
        for (int i = 0; i < file.Rows.Count; i++)
        {
            var r = file.Rows[i] ?? throw new InvalidDataException($"'{source}': row {i} is null");
            if (string.IsNullOrEmpty(r.Section) || string.IsNullOrEmpty(r.Name) || r.Size is null)
                throw new InvalidDataException($"'{source}': row {i} lacks a section, name or size");
            double[] times = [r.MinUs, r.MedianUs, r.MaxUs];
            if (r.Samples < 1 || times.Any(t => !double.IsFinite(t) || t < 0) || !(r.MinUs <= r.MedianUs && r.MedianUs <= r.MaxUs))
                throw new InvalidDataException($"'{source}': row {i} ({r.Section} {r.Name}) has {r.Samples} samples, min {r.MinUs}, median {r.MedianUs}, max {r.MaxUs} µs");
            var stats = new SampleStatistics(r.Samples, r.MedianUs, r.MinUs, r.MaxUs);
            rows.Add(new BenchmarkRow(r.Section, r.Name, r.Size, stats) { Bytes = r.Bytes, Flop = r.Flop, Steps = r.Steps, GraphNodes = r.GraphNodes, PercentOfCopy = r.PercentOfCopy });
        }
        DateTime date = DateTime.TryParse(file.Date, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d) ? d : default;
        return new BenchmarkReport(file.Source ?? "unknown", file.Device ?? "unknown", file.Emulated, date, rows) { L2CacheBytes = file.L2CacheBytes };
    }

    /// <summary>Reads a report written by `cudann bench --json` or the PyTorch baseline script.</summary>
    public static BenchmarkReport Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"'{path}' does not exist", path);
        if (info.Length > MaxFileBytes) throw new InvalidDataException($"'{path}' is {info.Length} bytes; a bench report is at most {MaxFileBytes}");
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>One line per row, with a header; numbers in invariant culture, empty where a row has no such figure.</summary>
    public string ToCsv()
    {
        static string Q(string text) => text.Contains(',') || text.Contains('"') ? $"\"{text.Replace("\"", "\"\"")}\"" : text;
        static string N(double? v) => v?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        var csv = new StringBuilder("section,name,size,samples,median_us,min_us,max_us,bytes,gb_per_s,percent_of_copy,flop,gflop_per_s,steps,graph_nodes\n");
        foreach (var r in Rows)
            csv.Append(string.Join(",", Q(r.Section), Q(r.Name), Q(r.Size), r.Microseconds.Count.ToString(CultureInfo.InvariantCulture),
                N(r.Microseconds.Median), N(r.Microseconds.Min), N(r.Microseconds.Max), N(r.Bytes), N(r.GigabytesPerSecond), N(r.PercentOfCopy),
                N(r.Flop), N(r.GigaflopsPerSecond), N(r.Steps), N(r.GraphNodes))).Append('\n');
        return csv.ToString();
    }

    private sealed record FileJson(int Layout, string? Source, string? Device, bool Emulated, string? Date, long L2CacheBytes, List<RowJson?>? Rows);

    private sealed record RowJson(string? Section, string? Name, string? Size, int Samples, double MedianUs, double MinUs, double MaxUs,
        long? Bytes, double? Flop, long? Steps, int? GraphNodes, double? GbPerS, double? PercentOfCopy, double? GflopPerS);
}
