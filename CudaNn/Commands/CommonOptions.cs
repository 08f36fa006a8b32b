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
        Description = "auto (CUDA when usable, else cpu), cpu, cuda, cuda:N, or emulator (the CUDA backend on the CPU)",
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
}
