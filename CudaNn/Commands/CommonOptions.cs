using System.CommandLine;
using System.Globalization;
using CudaNn.Data;

namespace CudaNn.Cli.Commands;

/// <summary>Options shared by several commands, with one definition each.</summary>
internal static class CommonOptions
{
    public static Option<string?> Data() => new("--data")
    {
        Description = "Directory with the four MNIST files (raw or .gz); default: the shipped data/mnist-10k",
    };

    public static Option<string> Device() => new("--device")
    {
        Description = "auto (CUDA when usable, else cpu), cpu, cuda, cuda:N, emulator (the CUDA backend on the CPU), or reference (plain loops, the oracle the others are checked against; slow)",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<string> Precision()
    {
        var precision = new Option<string>("--precision")
        {
            Description = "fp32 (the default), tf32 or bf16: on a GPU (or the emulator), GEMMs on tensor cores with inputs rounded to TF32 (10 mantissa bits) or bfloat16 (7), float32 everywhere else",
            DefaultValueFactory = _ => "fp32",
        };
        precision.AcceptOnlyFromAmong("fp32", "tf32", "bf16");
        return precision;
    }

    /// <summary>
    /// Sets a --precision on the device (TF32 and BF16 need a GPU or the emulator) until the returned object is disposed: a
    /// device is shared by the whole process, and the next command run in it starts from FP32 again.
    /// </summary>
    public static IDisposable ApplyPrecision(CudaNn.Device device, string precision)
    {
        if (device is not Backends.Cuda.GpuDevice gpu)
            return precision == "fp32" ? new PrecisionScope(null, default)
                : throw new CliException($"--precision {precision} is GPU arithmetic (tensor cores); {device.Name} computes in FP32");
        var scope = new PrecisionScope(gpu, gpu.Precision);
        gpu.Precision = precision switch
        {
            "tf32" => Backends.Cuda.Precision.TF32,
            "bf16" => Backends.Cuda.Precision.BF16,
            _ => Backends.Cuda.Precision.FP32,
        };
        return scope;
    }

    private sealed class PrecisionScope(Backends.Cuda.GpuDevice? gpu, Backends.Cuda.Precision previous) : IDisposable
    {
        public void Dispose()
        {
            if (gpu is { IsDisposed: false }) gpu.Precision = previous;
        }
    }

    public static Option<int> BatchSize(int defaultValue) => Positive(new Option<int>("--batch-size")
    {
        Description = "Samples per batch",
        DefaultValueFactory = _ => defaultValue,
    });

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object per line instead of text, for scripts" };

    public static Option<string> Hidden(string defaultValue)
    {
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer widths, comma-separated", DefaultValueFactory = _ => defaultValue };
        hidden.Validators.Add(r =>
        {
            if (!TryParseWidths(r.GetValueOrDefault<string>() ?? "", out _))
                r.AddError($"--hidden must be positive widths separated by commas (e.g. 128,64), got '{r.GetValueOrDefault<string>()}'");
        });
        return hidden;
    }

    public static Option<string> ActivationChoice()
    {
        var activation = new Option<string>("--activation") { Description = "relu, sigmoid, tanh, gelu or silu", DefaultValueFactory = _ => "relu" };
        activation.AcceptOnlyFromAmong("relu", "sigmoid", "tanh", "gelu", "silu");
        return activation;
    }

    public static Option<int> Positive(Option<int> option)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0) r.AddError($"{option.Name} must be a positive integer, got {r.GetValueOrDefault<int>()}");
        });
        return option;
    }

    public static Option<int> NonNegative(Option<int> option)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0) r.AddError($"{option.Name} must be zero or a positive integer, got {r.GetValueOrDefault<int>()}");
        });
        return option;
    }

    /// <summary>The data directory: the one given, or the shipped digits.</summary>
    public static string ResolveData(string? given)
    {
        if (given is null) return DefaultData.Locate();
        if (!Directory.Exists(given)) throw new CliException($"--data: directory '{given}' does not exist");
        return given;
    }

    /// <summary>The device for a --device value; a device that cannot be used here is a run error saying why.</summary>
    public static CudaNn.Device ResolveDevice(string name)
    {
        try
        {
            return CudaNn.Device.Parse(name);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--device: {e.Message}");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            throw new CliException($"--device {name}: {e.Message}", CliApp.RunError);
        }
    }

    /// <summary>Fails before any work when the file's directory does not exist, rather than after training.</summary>
    public static void CheckWritable(string option, string path)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is null || !Directory.Exists(directory))
            throw new CliException($"{option}: directory '{directory}' for '{path}' does not exist");
    }

    internal static bool TryParseWidths(string text, out int[] widths)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] <= 0 || widths[i] > 1 << 16)
                return false;
        return true;
    }

    public static int[] ParseWidths(string text) => TryParseWidths(text, out var w) ? w : throw new CliException($"--hidden: '{text}'");
}
