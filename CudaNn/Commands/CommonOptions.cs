using System.CommandLine;
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
        Description = "cpu or auto (CUDA when usable, else cpu)",
        DefaultValueFactory = _ => "auto",
    };

    public static Option<int> BatchSize(int defaultValue) => Positive(new Option<int>("--batch-size")
    {
        Description = "Samples per batch",
        DefaultValueFactory = _ => defaultValue,
    });

    public static Option<int> Positive(Option<int> option)
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0) r.AddError($"{option.Name} must be a positive integer, got {r.GetValueOrDefault<int>()}");
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

    /// <summary>The device for a --device value.</summary>
    public static CudaNn.Device ResolveDevice(string name) => name.ToLowerInvariant() switch
    {
        "cpu" or "auto" => CudaNn.Device.Cpu,
        _ => throw new CliException($"--device: unknown device '{name}'; expected cpu or auto"),
    };
}
