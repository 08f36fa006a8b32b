using System.CommandLine;
using System.CommandLine.Help;
using CudaNn.Cli;
using CudaNn.Cli.Output;

namespace CudaNn.Tests.Cli;

/// <summary>
/// Every option of every command, found by walking the command tree, given values a hostile user might type: each ends
/// as exit code 2 with one line naming the option (or, where the value is valid, as another clear error), never a crash.
/// </summary>
public class EveryOptionTests
{
    private static readonly string[] Hostile = ["abc", "-1", "0", "NaN", "1e999", "2147483648", "99999999999999999999999", ""];

    /// <summary>Values no numeric option accepts.</summary>
    private static readonly string[] NotNumbers = ["abc", "NaN", "1e999", ""];

    private static readonly string[] NoData = ["--data", "/nonexistent/mnist"];
    private static readonly string[] NoCheckpoint = ["--checkpoint", "/nonexistent/w.safetensors"];

    // Each command's arguments that make an otherwise valid command line fail at once, before any work, so that a valid
    // value under test ends quickly: the first whose option is not the one under test is used.
    private static readonly Dictionary<string, string[][]> Sinks = new()
    {
        ["train"] = [["--data", "/nonexistent/mnist"], ["--hidden", "65536,65536"]],
        ["eval"] = [[.. NoData, .. NoCheckpoint], NoCheckpoint, NoData],
        ["predict"] = [[.. NoData, .. NoCheckpoint], NoCheckpoint, NoData],
        ["export"] = [["--onnx", "/nonexistent/m.onnx", .. NoCheckpoint], NoCheckpoint, ["--onnx", "/nonexistent/m.onnx"]],
        ["verify"] = [["--data", "/nonexistent/mnist"], ["--device", "tpu"]],
        ["playground"] = [["--png", "/nonexistent/p.png"], ["--hidden", "65536,65536"]],
        ["info"] = [[]],
        ["bench"] = [["--compare", "/nonexistent/peer.json"], ["--device", "tpu"]],
    };

    private static Command Tree() => CliApp.Commands(new CliContext(TextWriter.Null, TextWriter.Null, interactive: false));

    public static IEnumerable<TestCaseData> EveryOptionAndValue() =>
        from command in Tree().Subcommands
        from option in command.Options
        where option is not HelpOption
        from value in Hostile
        select new TestCaseData(command.Name, option.Name, value).SetName($"{command.Name} {option.Name} '{value}'");

    [Test]
    public void TheWalk_CoversEveryCommandAndTheNumericOptions()
    {
        var commands = Tree().Subcommands.Select(c => c.Name).ToList();
        Assert.That(commands, Is.EquivalentTo(Sinks.Keys), "every command has its sink");
        var numeric = Tree().Subcommands.SelectMany(c => c.Options.Where(IsNumeric).Select(o => $"{c.Name} {o.Name}")).ToList();
        Assert.That(numeric, Does.Contain("train --epochs").And.Contain("train --collective-timeout").And.Contain("playground --samples")
            .And.Contain("predict --count").And.Contain("eval --batch-size"));
    }

    [TestCaseSource(nameof(EveryOptionAndValue))]
    public void HostileValue_EndsAsOneClearError(string commandName, string optionName, string value)
    {
        var command = Tree().Subcommands.Single(c => c.Name == commandName);
        var option = command.Options.Single(o => o.Name == optionName);
        string[] sink = Sinks[commandName].First(s => !s.Contains(optionName));
        var run = CliRunner.Run([commandName, optionName, value, .. sink]);

        Assert.That(run.Error, Does.Not.Contain("   at ").And.Not.Contain("Unhandled"), "no stack trace");
        Assert.That(run.Code, Is.EqualTo(CliApp.UsageError).Or.EqualTo(CliApp.RunError), "the sink (or the value) ends the run");
        Assert.That(run.Error, Does.StartWith("error: "));
        Assert.That(run.Error.Length, Is.LessThan(1000), "a few short lines");
        string[] named = [optionName, .. sink.Where(a => a.StartsWith("--", StringComparison.Ordinal))];
        named = [.. named, $"'{value}'"];
        Assert.That(named.Any(run.Error.Contains), $"the error names one of {string.Join(", ", named)}");
        if (IsNumeric(option) && NotNumbers.Contains(value))
        {
            Assert.That(run.Code, Is.EqualTo(CliApp.UsageError));
            Assert.That(run.Error, Does.StartWith($"error: {optionName}"));
        }
    }

    [TestCase("train", "--epochs", "abc", "error: --epochs: 'abc' is not a whole number")]
    [TestCase("train", "--epochs", "2147483648", "error: --epochs must be a whole number from 1 to 1,000,000, got '2147483648'")]
    [TestCase("train", "--lr", "NaN", "error: --lr must be a positive number, got 'NaN'")]
    [TestCase("train", "--seed", "-1", "error: --seed must be a whole number from 0 to 18,446,744,073,709,551,615, got '-1'")]
    [TestCase("train", "--collective-timeout", "abc", "error: --collective-timeout: 'abc' is not a number")]
    [TestCase("playground", "--samples", "1000000000", "error: --samples must be a whole number from 4 to 100,000, got '1000000000'")]
    [TestCase("predict", "--count", "1e9", "error: --count: '1e9' is not a whole number")]
    [TestCase("train", "--optimizer", "", "error: --optimizer: '' is not one of adam, adamw, sgd")]
    public void BadNumber_IsQuotedAfterTheOption(string command, string option, string value, string expected)
    {
        var run = CliRunner.Run(command, option, value);
        Assert.That(run.Code, Is.EqualTo(CliApp.UsageError));
        Assert.That(run.Error, Does.Contain(expected));
    }

    [Test]
    public void AHugeValue_IsQuotedShort()
    {
        string huge = new string('7', 1_000_000) + "x";
        var run = CliRunner.Run("train", "--epochs", huge);
        Assert.That(run.Code, Is.EqualTo(CliApp.UsageError));
        Assert.That(run.Error, Does.Contain("(1,000,001 characters)"));
        Assert.That(run.Error.Length, Is.LessThan(400));
    }

    [Test]
    public void AHugeSchedule_IsRefusedWhileParsing_AndQuotedShort()
    {
        var chained = CliRunner.Run("train", "--lr-schedule", string.Concat(Enumerable.Repeat("step:1@1,", 100_000)) + "cosine:1");
        Assert.That(chained.Code, Is.EqualTo(CliApp.UsageError));
        Assert.That(chained.Error, Does.Contain("(900,008 characters): 100001 schedules in sequence is more than the 100 allowed"));
        Assert.That(chained.Error.Length, Is.LessThan(1000));

        var digits = CliRunner.Run("train", "--lr-schedule", "step:" + new string('9', 100_000));
        Assert.That(digits.Code, Is.EqualTo(CliApp.UsageError));
        Assert.That(digits.Error, Does.Contain("step's value 1 '9999").And.Contain("(100,000 characters) is not a whole number"));
        Assert.That(digits.Error.Length, Is.LessThan(1000));
    }

    [TestCase("train")]
    [TestCase("playground")]
    public void TooManyParameters_IsAUsageErrorBeforeAnyWork(string command)
    {
        using var dir = new TestSupport.TempDirectory();
        string[] output = command == "train" ? ["--save", dir.File("w.safetensors")] : ["--png", dir.File("p.png")];
        var run = CliRunner.Run([command, "--hidden", "65536,65536", .. output]);
        Assert.That(run.Code, Is.EqualTo(CliApp.UsageError));
        Assert.That(run.Error, Does.Contain("parameters, more than the 268,435,456 an MLP may have"));
        Assert.That(Directory.EnumerateFileSystemEntries(dir.Path), Is.Empty, "nothing written");
    }

    private static bool IsNumeric(Option option) =>
        (Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType) is var t && (t == typeof(int) || t == typeof(double) || t == typeof(ulong));
}
