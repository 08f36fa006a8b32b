using Spectre.Console;

namespace CudaNn.Cli.Output;

/// <summary>
/// Where a command writes, and whether a person is watching: live progress and colour only on a terminal,
/// plain lines (that scripts and tests can grep) whenever the output is redirected or captured.
/// </summary>
internal sealed class CliContext(TextWriter output, TextWriter error, bool interactive)
{
    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>How `train --plan auto` times and remembers its choice; null: device events and the cache beside the kernels (tests set a timer).</summary>
    public Training.PlanTuning? PlanTuning { get; init; }

    /// <summary>True when the output is a terminal: progress bars are drawn and redrawn in place.</summary>
    public bool Interactive { get; } = interactive;

    /// <summary>A Spectre console over <see cref="Output"/>; without a terminal it writes no escape codes.</summary>
    public IAnsiConsole Console { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(output),
        Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
    });

    /// <summary>True for the process's own stdout when it is a terminal (not redirected, not a dumb terminal).</summary>
    public static bool IsTerminal(TextWriter output) =>
        ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected &&
        Environment.GetEnvironmentVariable("TERM") is not "dumb";
}
