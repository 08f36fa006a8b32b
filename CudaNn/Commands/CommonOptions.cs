using System.CommandLine;
using CudaNn.Backends;
using System.Globalization;
using CudaNn.Data;
using CudaNn.Training;

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

    public static Option<string> Precision() => OptionValues.Choice("--precision",
        "fp32 (the default), tf32 or bf16: on a GPU (or the emulator), GEMMs on tensor cores with inputs rounded to TF32 (10 mantissa bits) or bfloat16 (7), float32 everywhere else",
        "fp32", "tf32", "bf16");

    private const string PlanChoices =
        "layers (GEMMs and elementwise kernels), epilogues (cuBLASLt GEMMs whose epilogues add the bias, apply ReLU and sum the bias gradients) or fused (three kernels a step; FP32, at most 4 layers of 128 outputs)";

    /// <summary>`verify --plan`: one plan to check, layers by default.</summary>
    public static Option<string> Plan() => OptionValues.Choice("--plan",
        "how an MLP's layers run on a GPU or the emulator: " + PlanChoices, "layers", "epilogues", "fused");

    /// <summary>`train --plan`: auto (the default; tuned on a GPU, layers elsewhere unless asked for) or one plan pinned.</summary>
    public static Option<string> TrainPlan() => OptionValues.Choice("--plan",
        "how an MLP's layers run on a GPU or the emulator: auto (the default on a GPU: the first steps time each plan that applies and keep the fastest, " +
        "remembered per card, model and batch; on the emulator only when given, since its times are not a GPU's), or one pinned: " + PlanChoices,
        "auto", "layers", "epilogues", "fused");

    /// <summary>"layers", "epilogues" or "fused", as --plan takes it and a checkpoint records it.</summary>
    public static string PlanName(Backends.StepPlan plan) => plan.ToString().ToLowerInvariant();

    /// <summary>A --plan value (already one of the names) as the plan.</summary>
    public static Backends.StepPlan ParsePlan(string name) => Enum.Parse<Backends.StepPlan>(name, ignoreCase: true);

    /// <summary>
    /// Sets a --plan on the device (epilogues and fused need a GPU or the emulator) until the returned object is disposed,
    /// as <see cref="ApplyPrecision"/> does.
    /// </summary>
    public static IDisposable ApplyPlan(CudaNn.Device device, string plan, out Backends.StepPlan stepPlan)
    {
        stepPlan = ParsePlan(plan);
        if (device is not Backends.Cuda.CudaDevice && stepPlan != Backends.StepPlan.Layers)
            throw new CliException($"--plan {plan} runs on a GPU or the emulator; {device.Name} runs an MLP layer by layer");
        return UsePlan(device, stepPlan);
    }

    /// <summary>Sets <paramref name="plan"/> on a GPU or the emulator until disposed; elsewhere every run is layers already.</summary>
    public static IDisposable UsePlan(CudaNn.Device device, Backends.StepPlan plan)
    {
        if (device is not Backends.Cuda.CudaDevice gpu) return new PlanScope(null, default);
        var scope = new PlanScope(gpu, gpu.Plan);
        gpu.Plan = plan;
        return scope;
    }

    private sealed class PlanScope(Backends.Cuda.CudaDevice? gpu, Backends.StepPlan previous) : IDisposable
    {
        public void Dispose()
        {
            if (gpu is { IsDisposed: false }) gpu.Plan = previous;
        }
    }

    /// <summary>
    /// Sets a --precision on the device (TF32 and BF16 need a GPU or the emulator) until the returned object is disposed: a
    /// device is shared by the whole process, and the next command run in it starts from FP32 again.
    /// </summary>
    public static IDisposable ApplyPrecision(CudaNn.Device device, string precision)
    {
        if (device is not Backends.Cuda.CudaDevice gpu)
            return precision == "fp32" ? new PrecisionScope(null, default)
                : throw new CliException($"--precision {precision} is GPU arithmetic (tensor cores); {device.Name} computes in FP32");
        var scope = new PrecisionScope(gpu, gpu.Precision);
        gpu.Precision = precision switch
        {
            "tf32" => CudaNn.Precision.TF32,
            "bf16" => CudaNn.Precision.BF16,
            _ => CudaNn.Precision.FP32,
        };
        return scope;
    }

    private sealed class PrecisionScope(Backends.Cuda.CudaDevice? gpu, Precision previous) : IDisposable
    {
        public void Dispose()
        {
            if (gpu is { IsDisposed: false }) gpu.Precision = previous;
        }
    }

    public static Option<int> BatchSize(int defaultValue) => OptionValues.Whole("--batch-size", "Samples per batch", defaultValue, 1, CliLimits.BatchSize);

    public static Option<bool> Json() => new("--json") { Description = "Print one JSON object per line instead of text, for scripts" };

    public static Option<string> Hidden(string defaultValue) => new("--hidden")
    {
        Description = string.Create(CultureInfo.InvariantCulture,
            $"Hidden layer widths, comma-separated (up to {Mlp.MaxLayers - 1} layers of 1 to {Mlp.MaxWidth:N0}, {Mlp.MaxParameters:N0} parameters in all)"),
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            string text = string.Join(" ", r.Tokens.Select(t => t.Value));
            if (!TryParseWidths(text, out _))
                r.AddError($"--hidden must be up to {Mlp.MaxLayers - 1} positive widths of at most {Mlp.MaxWidth} separated by commas (e.g. 128,64), got {OptionValues.Quote(text)}");
            return text;
        },
    };

    /// <summary>
    /// --activation: a name <see cref="Activation.Parse"/> knows, with a parameter after a colon where the activation
    /// takes one (name:value); the choices are <see cref="Activation.Nonlinear"/>'s.
    /// </summary>
    public static Option<Activation> ActivationChoice(string description = "The activation after each hidden Linear", Activation? defaultValue = null) =>
        new("--activation")
        {
            Description = $"{description}; where the activation takes a parameter, it may follow a colon (name:value)",
            HelpName = string.Join("|", Activation.Nonlinear.Select(a => a.Parameter is null ? a.Name : $"{a.Name}[:{a.Parameter.Value.ToString(CultureInfo.InvariantCulture)}]")),
            DefaultValueFactory = _ => defaultValue ?? Activation.ReLU,
            CustomParser = r =>
            {
                string text = string.Join(" ", r.Tokens.Select(t => t.Value));
                try
                {
                    return Activation.Parse(text);
                }
                catch (ArgumentException e)
                {
                    r.AddError($"--activation: {e.Message}");
                    return Activation.ReLU;
                }
            },
        };

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

    /// <summary>
    /// Fails before any work when <paramref name="path"/> cannot be written (its folder is missing or takes no new file,
    /// or it is a directory), rather than after training: a file is created and deleted beside it.
    /// </summary>
    public static void CheckWritable(string option, string path)
    {
        if (path.Length == 0) throw new CliException($"{option}: the path is empty");
        try
        {
            IO.AtomicFile.CheckWritable(path);
        }
        catch (IOException e)
        {
            throw new CliException($"{option}: {e.Message}");
        }
    }

    internal static bool TryParseWidths(string text, out int[] widths)
    {
        widths = [];
        if (text.Count(c => c == ',') + 1 > Mlp.MaxLayers - 1) return false;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] <= 0 || widths[i] > Mlp.MaxWidth)
                return false;
        return true;
    }

    public static int[] ParseWidths(string text) => TryParseWidths(text, out var w) ? w : throw new CliException($"--hidden: '{text}'");
}
