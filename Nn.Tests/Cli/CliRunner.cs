using CudaNn.Cli;
using CudaNn.Data;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Cli;

/// <summary>Runs the command line in process, and makes small MNIST directories so whole epochs take milliseconds.</summary>
internal static class CliRunner
{
    public static (int Code, string Output, string Error) Run(params string[] args) => Run(null, args);

    /// <summary>Runs the command line with `train --plan auto` timed and remembered by <paramref name="planTuning"/>.</summary>
    public static (int Code, string Output, string Error) Run(CudaNn.Training.PlanTuning? planTuning, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error, planTuning);
        TestContext.Out.WriteLine($"$ CudaNn {string.Join(' ', args)}  -> {code}\n{output}{error}");
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>
    /// Runs the built tool as a process of its own (`dotnet CudaNn.Cli.dll ARGS`), for what one process fixes once: the
    /// working folder, or a choice made from the environment. Both streams are read as they come, so neither fills up.
    /// </summary>
    public static (int Code, string Output, string Error) RunAsProcess(string[] args, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        string cli = Path.Combine(Path.GetDirectoryName(typeof(CliApp).Assembly.Location)!, "CudaNn.Cli.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        foreach (string arg in args.Prepend(cli)) start.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), "the run ended");
        TestContext.Out.WriteLine($"$ dotnet CudaNn.Cli.dll {string.Join(' ', args)}  -> {process.ExitCode}\n{output}{error.Result}");
        return (process.ExitCode, output, error.Result);
    }

    /// <summary>The first <paramref name="train"/> training and <paramref name="test"/> test digits of the shipped set, as IDX files.</summary>
    public static string SmallMnist(TempDirectory dir, int train, int test)
    {
        string path = dir.File($"mnist-{train}-{test}");
        Directory.CreateDirectory(path);
        Write(path, "train", MnistDataSet.LoadDefault(MnistSplit.Train), train);
        Write(path, "t10k", MnistDataSet.LoadDefault(MnistSplit.Test), test);
        return path;
    }

    private static void Write(string directory, string prefix, MnistDataSet data, int count)
    {
        IdxWriter.Write(Path.Combine(directory, $"{prefix}-images-idx3-ubyte"), [count, data.Rows, data.Cols], data.Images.AsSpan(0, count * data.ImageSize));
        IdxWriter.Write(Path.Combine(directory, $"{prefix}-labels-idx1-ubyte"), [count], data.Labels.AsSpan(0, count));
    }
}
