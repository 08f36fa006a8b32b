using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Cuda;
using CudaNn.IO;
using CudaNn.Kernels;
using CudaNn.Nn;

namespace CudaNn.Training;

/// <summary>
/// Plans chosen by measurement (<see cref="Trainer.TunePlan"/>), remembered in a JSON file so that later runs of the
/// same model on the same card skip the timing. A decision is keyed by everything its timings depend on: the card,
/// the driver, cuBLAS and cuBLASLt versions, the kernels' source, the model, the batch's shape, the precision, graphs
/// or not and the number of ranks. A file that cannot be read (damaged, too large, another layout) is treated as empty
/// and written anew; the file keeps the <see cref="MaxEntries"/> newest decisions.
/// </summary>
internal sealed class PlanCache(string path)
{
    /// <summary>The most decisions the file keeps; the oldest go first.</summary>
    public const int MaxEntries = 256;

    /// <summary>The largest file read: far past <see cref="MaxEntries"/> entries, so anything larger is not one of ours.</summary>
    private const long MaxBytes = 4 << 20;

    private const int Layout = 1;

    public string Path { get; } = path ?? throw new ArgumentNullException(nameof(path));

    /// <summary>
    /// plans.json beside the compiled kernels (<c>$CUDANN_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/cudann</c>, else
    /// <c>~/.cache/cudann</c>); null when there is no such directory (no home, no variable).
    /// </summary>
    public static string? DefaultFile
    {
        get
        {
            try
            {
                return System.IO.Path.Combine(System.IO.Path.GetDirectoryName(KernelCacheDirectory.Default)!, "plans.json");
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>A remembered decision and the timings it was made from.</summary>
    public sealed record Entry(StepPlan Plan, IReadOnlyDictionary<StepPlan, double> Microseconds);

    /// <summary>What a decision depends on, as one line.</summary>
    internal static string Key(CudaDevice gpu, Module model, Tensor x, bool graphs, int ranks)
    {
        static string Version(Func<Version> read)
        {
            try
            {
                return read().ToString();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or CudaException or InvalidOperationException)
            {
                return "none";
            }
        }
        bool emulated = gpu.Kind != DeviceKind.Cuda;
        return string.Join(" | ",
            gpu.Description,
            emulated ? "emulated" : $"driver {CudaDriver.Version?.ToString(CultureInfo.InvariantCulture) ?? "none"}",
            emulated ? "emulated" : $"cublas {Version(() => CublasLibrary.Version)}",
            emulated ? "emulated" : $"cublaslt {Version(() => CublasLtHandle.LibraryVersion)}",
            $"kernels {KernelSource.Sha256[..16]}",
            model.ToString()!.ReplaceLineEndings(" "),
            $"input {Tensor.ShapeText(x.Shape)} {x.DType.Name()}",
            gpu.Precision.ToString(),
            graphs ? "graphs" : "eager",
            $"ranks {ranks.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>The decision for <paramref name="key"/> when the file has one among <paramref name="applicable"/>; null otherwise.</summary>
    public Entry? Find(string key, IReadOnlyCollection<StepPlan> applicable)
    {
        if (Read()?[key] is not JsonObject entry) return null;
        try
        {
            var plan = Parse(entry["plan"]!.GetValue<string>());
            var times = new Dictionary<StepPlan, double>();
            if (entry["microseconds"] is JsonObject recorded)
                foreach (var (name, value) in recorded)
                    if (Parse(name) is { } timed && value?.GetValue<double>() is { } us && double.IsFinite(us) && us >= 0) times[timed] = us;
            return plan is { } chosen && applicable.Contains(chosen) ? new Entry(chosen, times) : null;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException or KeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Adds (or replaces) the decision for <paramref name="key"/>, written atomically; a cache that cannot be written is left alone.</summary>
    public void Store(string key, StepPlan plan, IReadOnlyDictionary<StepPlan, double> microseconds)
    {
        var entries = Read() ?? [];
        entries.Remove(key);
        var times = new JsonObject();
        foreach (var (p, us) in microseconds.OrderBy(t => t.Key)) times[Name(p)] = us;
        entries[key] = new JsonObject
        {
            ["plan"] = Name(plan),
            ["microseconds"] = times,
            ["tuned"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        while (entries.Count > MaxEntries) entries.Remove(entries.First().Key);
        var file = new JsonObject { ["layout"] = Layout, ["plans"] = entries };
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
            AtomicFile.Write(Path, stream => JsonSerializer.Serialize(stream, file, new JsonSerializerOptions { WriteIndented = true }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A cache is an optimization: a read-only home or a full disk costs the next run a tuning, not this run.
        }
    }

    /// <summary>The file's decisions by key, oldest first; null when there is no readable file of this layout.</summary>
    private JsonObject? Read()
    {
        try
        {
            var info = new FileInfo(Path);
            if (!info.Exists || info.Length > MaxBytes) return null;
            var root = JsonNode.Parse(File.ReadAllBytes(Path)) as JsonObject;
            if (root?["layout"] is not JsonValue layout || !layout.TryGetValue(out int version) || version != Layout) return null;
            return root["plans"] is JsonObject plans ? (JsonObject)plans.DeepClone() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static string Name(StepPlan plan) => plan.ToString().ToLowerInvariant();

    private static StepPlan? Parse(string name) =>
        Enum.TryParse(name, ignoreCase: true, out StepPlan plan) && Enum.IsDefined(plan) && Name(plan) == name ? plan : null;
}
