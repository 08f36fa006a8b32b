using System.CommandLine;
using CudaNn.Cli.Commands;
using CudaNn.Cli.Commands.Train;
using CudaNn.Cli.Output;

namespace CudaNn.Cli;

/// <summary>The `CudaNn` command line: parses, dispatches, and turns failures into one clear line and an exit code.</summary>
public static class CliApp
{
    /// <summary>Exit code for a bad command line (unknown option, invalid value).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a failure while running (unreadable data, bad checkpoint).</summary>
    public const int RunError = 1;

    /// <summary>
    /// Runs one command line. Live progress and colour are drawn only when <paramref name="output"/> is this
    /// process's terminal; any other writer (a file, a pipe, a test's StringWriter) gets plain lines.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, planTuning: null);

    /// <summary><see cref="Run(string[], TextWriter, TextWriter)"/> with `train --plan auto` timed and remembered by <paramref name="planTuning"/>.</summary>
    internal static int Run(string[] args, TextWriter output, TextWriter error, Training.PlanTuning? planTuning)
    {
        var root = Commands(new CliContext(output, error, CliContext.IsTerminal(output)) { PlanTuning = planTuning });
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) error.WriteLine($"error: {e.Message}");
            error.WriteLine("Run 'cudann --help' for usage.");
            return UsageError;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (CliException e)
        {
            error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            error.WriteLine($"error: {e.Message}");
            return RunError;
        }
    }

    /// <summary>
    /// Every command, each with its options and the parsers that check their values. The root is named `cudann`, the
    /// tool's command, where a RootCommand would take the entry assembly's name (CudaNn.Cli) into its help.
    /// </summary>
    internal static Command Commands(CliContext context) =>
        new("cudann", "CudaNn: train neural networks from C# on NVIDIA GPUs, checked against a CPU reference.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
            TrainCommand.Create(context),
            EvalCommand.Create(context.Output),
            PredictCommand.Create(context.Output),
            InfoCommand.Create(context.Output),
            VerifyCommand.Create(context.Output),
            BenchCommand.Create(context.Output),
            ExportCommand.Create(context.Output),
            PlaygroundCommand.Create(context.Output),
        };

    /// <summary>Failures caused by the user's files or arguments, reported as one line rather than a stack trace.</summary>
    private static bool IsUserFacing(Exception e) => e is IOException or InvalidDataException or FormatException
        or UnauthorizedAccessException or ArgumentException or NotSupportedException;
}

/// <summary>A failure with a message meant for the user and the exit code to leave with.</summary>
public sealed class CliException(string message, int exitCode = CliApp.UsageError) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
