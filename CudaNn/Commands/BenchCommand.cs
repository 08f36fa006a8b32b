using System.CommandLine;
using System.Globalization;
using CudaNn.Backends.Cuda;
using CudaNn.Benchmarks;

namespace CudaNn.Cli.Commands;

/// <summary>
/// `bench`: <see cref="DeviceBenchmark"/> on the user's own card, as a table on the terminal (each row as it is measured),
/// or as JSON or CSV for scripts; `--compare FILE` sets a peer's report (another card, or the PyTorch baseline script's)
/// beside each row: its fastest row of the same section and size, and how many times faster this one is.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output)
    {
        var device = CommonOptions.Device();
        var sections = List("--sections", $"Sections to run, comma-separated: {string.Join(", ", BenchmarkOptions.AllSections)} (default: all)",
            string.Join(",", BenchmarkOptions.AllSections), s => BenchmarkOptions.AllSections.Contains(s) ? s : null, "a section");
        var batchSizes = List<int?>("--batch-sizes", "Batch sizes of the GEMM and step rows, comma-separated (default: 64,1024 on a GPU, 64 on the emulator)",
            null, s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b is >= 1 and <= CliLimits.BatchSize ? b : null,
            $"a batch size of 1 to {CliLimits.BatchSize}");
        var precisions = List("--precision", "Precisions of the GEMM and step rows, comma-separated: fp32, tf32, bf16 (default: fp32)", "fp32",
            s => s is "fp32" or "tf32" or "bf16" ? s : null, "fp32, tf32 or bf16");
        var hidden = CommonOptions.Hidden("128,64");
        var samples = OptionValues.Whole("--samples", "Timed samples per row (default: 10 on a GPU, 5 for epochs; 2 and 1 on the emulator)", 0, 0, 1000);
        var json = new Option<bool>("--json") { Description = "Print the report as JSON (the layout the PyTorch baseline script writes) instead of a table" };
        var csv = new Option<bool>("--csv") { Description = "Print the report as CSV instead of a table" };
        var kernelFile = new Option<string?>("--kernel") { Description = "Measure your own kernel instead: a CUDA C file with an extern \"C\" __global__ function (--name); each pointer parameter gets a buffer of --elements elements filled with ones, each integer parameter the element count, each floating one 1" };
        var kernelName = new Option<string?>("--name") { Description = "With --kernel: the function to measure" };
        var elements = List<long?>("--elements", "With --kernel: element counts, comma-separated (default: near the L2's size and well past it; 4096 on the emulator)",
            null, s => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n is >= 1 and <= int.MaxValue ? n : null, "a count of 1 to 2,147,483,647");
        var bytesPerElement = OptionValues.Real("--bytes-per-element", "With --kernel: bytes one launch moves per element, for GB/s (default: each buffer read or written once)", 0,
            v => v >= 0 && double.IsFinite(v), "a number of bytes");
        var block = OptionValues.Whole("--block", "With --kernel: threads per block", 256, 1, 1024);
        var compare = new Option<string?>("--compare") { Description = "A report to set beside each row (from `bench --json` on another card, or from Nn.Bench/baselines/mlp_gpu_pytorch.py --json)" };
        var command = new Command("bench", "Measure kernels (cold, beside device-to-device copy), GEMMs, training steps per plan and epochs on a GPU (or the emulator, to check the code)")
        {
            device, sections, batchSizes, precisions, hidden, samples, json, csv, compare, kernelFile, kernelName, elements, bytesPerElement, block,
        };
        command.SetAction(r =>
        {
            if (r.GetValue(json) && r.GetValue(csv)) throw new CliException("--json and --csv: choose one");
            BenchmarkReport? peer = null;
            if (r.GetValue(compare) is { } peerPath)
            {
                if (peerPath.Length == 0) throw new CliException("--compare: the path is empty");
                try
                {
                    peer = BenchmarkReport.Read(peerPath);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    throw new CliException($"--compare: {e.Message}");
                }
            }
            RawKernel? userKernel = UserKernel(r.GetValue(kernelFile), r.GetValue(kernelName));
            var dev = CommonOptions.ResolveDevice(r.GetValue(device)!);
            if (dev is not CudaDevice gpu)
                throw new CliException($"bench measures a GPU, and {dev.Name} is none{(r.GetValue(device) == "auto" ? " (no GPU is usable here)" : "")}; --device emulator runs every row to check the code", CliApp.RunError);
            var options = new BenchmarkOptions
            {
                Sections = r.GetValue(sections)!,
                BatchSizes = r.GetValue(batchSizes) is { Count: > 0 } sizes ? sizes.Select(b => b!.Value).ToList() : null,
                Precisions = r.GetValue(precisions)!.Select(p => p switch { "tf32" => Precision.TF32, "bf16" => Precision.BF16, _ => Precision.FP32 }).Distinct().ToList(),
                Hidden = CommonOptions.ParseWidths(r.GetValue(hidden)!),
                Samples = r.GetValue(samples) is > 0 and var n ? n : null,
            };
            bool table = !r.GetValue(json) && !r.GetValue(csv);
            var view = new BenchTable(output, peer);
            if (table)
            {
                output.WriteLine($"CudaNn bench: {gpu.Name} ({gpu.Description}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC" +
                    (gpu.L2CacheBytes > 0 ? $", L2 {gpu.L2CacheBytes >> 20} MiB" : ""));
                if (dev.Kind != DeviceKind.Cuda) output.WriteLine("emulator: every row runs to check the code; its times are the host's, not a GPU's");
                if (peer is not null) output.WriteLine($"beside: {peer.Source} on {peer.Device}{(peer.Emulated ? " (emulated)" : "")}, {peer.Date:yyyy-MM-dd}");
            }
            BenchmarkReport report;
            if (userKernel is null)
            {
                report = DeviceBenchmark.Run(gpu, options, table ? view.Row : null);
            }
            else
            {
                try
                {
                    report = DeviceBenchmark.RunKernel(gpu, userKernel, r.GetValue(elements) is { Count: > 0 } counts ? counts.Select(n => n!.Value).ToList() : null,
                        r.GetValue(bytesPerElement) is > 0 and var b ? b : null, r.GetValue(block), options);
                }
                catch (Exception e) when (e is Kernels.Emulation.EmulatorBuildException or Cuda.NvrtcCompileException or NotSupportedException or ArgumentException)
                {
                    throw new CliException($"--kernel {r.GetValue(kernelFile)}: {e.Message}", CliApp.RunError);
                }
                if (table) foreach (var row in report.Rows) view.Row(row);
            }
            if (r.GetValue(json)) output.WriteLine(report.ToJson());
            else if (r.GetValue(csv)) output.Write(report.ToCsv());
            return 0;
        });
        return command;
    }

    /// <summary>The kernel --kernel FILE --name NAME asks for, read and parsed (not yet compiled); null without --kernel.</summary>
    private static RawKernel? UserKernel(string? file, string? name)
    {
        if (file is null) return name is null ? null : throw new CliException("--name names the function of a --kernel FILE; give the file too");
        if (name is null) throw new CliException($"--kernel {file}: name the function to measure with --name");
        var info = new FileInfo(file);
        if (!info.Exists) throw new CliException($"--kernel: '{file}' does not exist");
        if (info.Length > MaxSourceBytes) throw new CliException($"--kernel: '{file}' is {info.Length:N0} bytes; a kernel source is at most {MaxSourceBytes:N0}");
        try
        {
            return new RawKernel(File.ReadAllText(file), name, SafeProgramName(info.Name));
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--kernel {file}: {e.Message}");
        }
    }

    /// <summary>The largest kernel source read: far past any hand-written one.</summary>
    private const long MaxSourceBytes = 4 << 20;

    /// <summary>The file's name as the compilers are told it (a plain name ending in .cu).</summary>
    private static string SafeProgramName(string fileName)
    {
        string stem = new(Path.GetFileNameWithoutExtension(fileName).Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_').ToArray());
        return (stem.Length == 0 || stem[0] == '-' ? "kernel" + stem : stem) + ".cu";
    }

    /// <summary>A comma-separated list option whose every item <paramref name="parse"/> accepts (null: refused, named by <paramref name="what"/>).</summary>
    private static Option<List<T>> List<T>(string name, string description, string? defaultText, Func<string, T?> parse, string what) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultText is null ? [] : [.. defaultText.Split(',').Select(s => parse(s)!)],
        CustomParser = r =>
        {
            string text = string.Join(" ", r.Tokens.Select(t => t.Value));
            var items = new List<T>();
            foreach (string item in text.Split(',', StringSplitOptions.TrimEntries))
            {
                if (parse(item) is { } value)
                {
                    items.Add(value);
                    continue;
                }
                r.AddError($"{name}: {OptionValues.Quote(item)} is not {what}");
                return [];
            }
            return items;
        },
    };

    /// <summary>The terminal's table: a heading per section, then each row as it is measured.</summary>
    private sealed class BenchTable(TextWriter output, BenchmarkReport? peer)
    {
        private string? _section;

        public void Row(BenchmarkRow row)
        {
            if (row.Section != _section)
            {
                _section = row.Section;
                output.WriteLine();
                output.WriteLine($"{Heading(row.Section),-40} {"size",-26} {"median µs",11} {"min µs",11} {"max µs",11} {"spread",7}  {Rate(row.Section),-22}" +
                    (peer is null ? "" : $"  {(row.Section == "epochs" ? "peer's fastest, µs a step" : "peer's fastest here"),-34} {"×",6}"));
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Name,-40} {row.Size,-26} {row.Microseconds.Median,11:F2} {row.Microseconds.Min,11:F2} {row.Microseconds.Max,11:F2} {row.Microseconds.SpreadPercent,6:F1}%  {Figures(row),-22}") +
                (peer is null ? "" : Beside(row)));
            output.Flush();
        }

        private static string Heading(string section) => section switch
        {
            "kernels" => "kernel (cold)",
            "gemms" => "GEMM (cold)",
            "steps" => "training step",
            _ => "epoch",
        };

        private static string Rate(string section) => section switch
        {
            "kernels" => "GB/s, % of copy",
            "gemms" => "GFLOP/s",
            "steps" => "GFLOP/s, graph nodes",
            _ => "µs a step (steps)",
        };

        private static string Figures(BenchmarkRow row) => row.Section switch
        {
            "kernels" => FormattableString.Invariant($"{row.GigabytesPerSecond:F1}{(row.PercentOfCopy is { } p ? FormattableString.Invariant($", {p:F1}%") : "")}"),
            "gemms" => FormattableString.Invariant($"{row.GigaflopsPerSecond:F1}"),
            "steps" => FormattableString.Invariant($"{row.GigaflopsPerSecond:F1}{(row.GraphNodes is { } nodes ? $", {nodes}" : "")}"),
            _ => FormattableString.Invariant($"{row.MicrosecondsPerStep:F1} ({row.Steps})"),
        };

        /// <summary>
        /// The peer's fastest row of this section and size, and this row's speed against it (above 1: this one is faster),
        /// by the time a step where both rows count steps (an epoch cut short on the emulator has fewer than a whole one).
        /// </summary>
        private string Beside(BenchmarkRow row)
        {
            static double Time(BenchmarkRow r) => r.MicrosecondsPerStep ?? r.Microseconds.Median;
            var best = peer!.Rows.Where(p => p.Section == row.Section && p.Size == row.Size).MinBy(Time);
            if (best is null) return "";
            double ratio = Time(row) > 0 ? Time(best) / Time(row) : double.NaN;
            string name = $"{best.Name} {Time(best).ToString("F2", CultureInfo.InvariantCulture)}";
            return string.Create(CultureInfo.InvariantCulture, $"  {name,-34} {ratio,5:F2}x");
        }
    }
}
