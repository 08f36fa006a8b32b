using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace CudaNn.Tests.Gpu;

/// <summary>
/// Prints each test's name as it starts, one line per fixture as it finishes (passed, failed, skipped, with the first skip reason), and each
/// failure: the test's name and message, and for the first few also the top of the stack trace and what the test
/// wrote to TestContext.Out (a missing library fails every test alike; the first ones say all there is).
/// </summary>
internal sealed class ConsoleTestListener(TextWriter output) : ITestListener
{
    private const int StackLines = 4;
    private const int DetailedFailures = 12;
    private const int MessageChars = 800;

    public int Passed { get; private set; }
    public int Failed { get; private set; }
    public int Skipped { get; private set; }

    /// <summary>Names each test as it starts, so a test that hangs is the last one named.</summary>
    public void TestStarted(ITest test)
    {
        if (!test.IsSuite) output.WriteLine($"    start {test.FullName}");
    }

    public void TestFinished(ITestResult result)
    {
        if (result.Test.IsSuite)
        {
            if (result.Test is TestFixture)
                output.WriteLine($"  {result.Test.FullName}: {result.PassCount} passed, {result.FailCount} failed, " +
                    $"{result.SkipCount + result.InconclusiveCount} skipped{FirstSkipReason(result)}");
            else if (result.ResultState.Site is FailureSite.SetUp or FailureSite.TearDown && result.ResultState.Status == TestStatus.Failed)
                output.WriteLine($"  {result.Test.FullName}: {result.ResultState.Site} failed: {result.Message}");
            return;
        }
        switch (result.ResultState.Status)
        {
            case TestStatus.Passed:
            case TestStatus.Warning:
                Passed++;
                break;
            case TestStatus.Failed:
                Failed++;
                PrintFailure(result);
                break;
            default:
                Skipped++;
                break;
        }
    }

    public void TestOutput(TestOutput output)
    {
    }

    public void SendMessage(TestMessage message)
    {
    }

    private void PrintFailure(ITestResult result)
    {
        string message = (result.Message ?? "").Trim();
        if (message.Length > MessageChars) message = message[..MessageChars] + " ...";
        if (Failed > DetailedFailures)
        {
            output.WriteLine($"FAILED {result.Test.FullName}: {message.Split('\n')[0]}");
            return;
        }
        output.WriteLine($"FAILED {result.Test.FullName}");
        output.WriteLine($"    {message.Replace("\n", "\n    ", StringComparison.Ordinal)}");
        foreach (string line in (result.StackTrace ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(StackLines))
            output.WriteLine($"    {line.Trim()}");
        if (!string.IsNullOrWhiteSpace(result.Output))
            output.WriteLine($"    output: {result.Output.Trim().Replace("\n", "\n            ", StringComparison.Ordinal)}");
    }

    private static string FirstSkipReason(ITestResult fixture)
    {
        var skipped = Leaves(fixture).FirstOrDefault(r => r.ResultState.Status is TestStatus.Skipped or TestStatus.Inconclusive);
        return skipped is null ? "" : $" (first skip: {skipped.Message?.Trim()})";
    }

    private static IEnumerable<ITestResult> Leaves(ITestResult result) =>
        result.HasChildren ? result.Children.SelectMany(Leaves) : [result];
}
