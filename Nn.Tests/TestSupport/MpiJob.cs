using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using CudaNn.Cli;

namespace CudaNn.Tests.TestSupport;

/// <summary>
/// A `CudaNn` command run as N ranks by Open MPI's mpirun, as a user launches it, with its output collected and a
/// deadline after which the whole job is killed and the test fails (a hung job must never hang CI). Each job carries a
/// marker variable to its ranks, so a test can find a rank's process and stop or kill it.
/// </summary>
internal sealed partial class MpiJob : IDisposable
{
    private const string MarkerVariable = "CUDANN_TEST_MPI_JOB";
    private readonly Process _mpirun;
    private readonly StringBuilder _output = new();
    private readonly string _marker = Guid.NewGuid().ToString("N");

    /// <summary>Starts one rank per entry of <paramref name="perRank"/>, each with its own CudaNn command line (mpirun's "A : B" form).</summary>
    private MpiJob(string mpirun, IReadOnlyList<(int Ranks, string Arguments)> perRank)
    {
        string cli = Path.Combine(Path.GetDirectoryName(typeof(CliApp).Assembly.Location)!, "CudaNn.Cli.dll");
        Assert.That(File.Exists(cli), $"{cli} is built beside the tests");
        // --allow-run-as-root: CI runs as root; --oversubscribe: more ranks than cores is fine for a test.
        string apps = string.Join(" : ", perRank.Select(p => $"-np {p.Ranks} -x {MarkerVariable}={_marker} dotnet {cli} {p.Arguments}"));
        var start = new ProcessStartInfo(mpirun, $"--allow-run-as-root --oversubscribe {apps}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        TestContext.Out.WriteLine("$ mpirun " + string.Join(" : ", perRank.Select(p => $"-np {p.Ranks} dotnet CudaNn.Cli.dll {p.Arguments}")));
        _mpirun = Process.Start(start)!;
        _mpirun.OutputDataReceived += (_, e) => Append(e.Data);
        _mpirun.ErrorDataReceived += (_, e) => Append(e.Data);
        _mpirun.BeginOutputReadLine();
        _mpirun.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="arguments"/> (a CudaNn command line) on <paramref name="ranks"/> ranks.</summary>
    public static MpiJob Start(int ranks, string arguments) => new(Requirements.Mpirun(), [(ranks, arguments)]);

    /// <summary>Runs a job whose rank r gets <paramref name="perRank"/>[r] as its command line, to its end; as <see cref="Run"/>.</summary>
    public static (int Code, string Output) RunEach(IReadOnlyList<string> perRank, TimeSpan? deadline = null)
    {
        using var job = new MpiJob(Requirements.Mpirun(), perRank.Select(a => (1, a)).ToList());
        int code = job.WaitForExit(deadline ?? TimeSpan.FromMinutes(2));
        return (code, job.Output);
    }

    /// <summary>Runs a job to its end (at most <paramref name="deadline"/>) and returns mpirun's exit code and all output.</summary>
    public static (int Code, string Output) Run(int ranks, string arguments, TimeSpan? deadline = null)
    {
        using var job = Start(ranks, arguments);
        int code = job.WaitForExit(deadline ?? TimeSpan.FromMinutes(2));
        return (code, job.Output);
    }

    /// <summary>Everything the ranks and mpirun printed so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>Waits for mpirun to end and returns its exit code; past <paramref name="deadline"/> kills the job and fails the test.</summary>
    public int WaitForExit(TimeSpan deadline)
    {
        if (!_mpirun.WaitForExit(deadline))
        {
            _mpirun.Kill(entireProcessTree: true);
            Assert.Fail($"the job did not end within {deadline.TotalSeconds:0} s:\n{Output}");
        }
        _mpirun.WaitForExit(); // drains the output readers
        TestContext.Out.WriteLine($"-> {_mpirun.ExitCode}\n{Output}");
        return _mpirun.ExitCode;
    }

    /// <summary>The process id of rank <paramref name="rank"/> of this job, found by its variables in /proc.</summary>
    public int RankProcess(int rank)
    {
        string marker = $"{MarkerVariable}={_marker}", rankVariable = $"OMPI_COMM_WORLD_RANK={rank.ToString(CultureInfo.InvariantCulture)}";
        foreach (string folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            string[] variables;
            try
            {
                variables = File.ReadAllText(Path.Combine(folder, "environ")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            if (variables.Contains(marker) && variables.Contains(rankVariable)) return pid;
        }
        throw new InvalidOperationException($"no process of rank {rank} of this job is running");
    }

    /// <summary>Sends <paramref name="signal"/> (SIGSTOP 19, SIGKILL 9) to a process, as kill(1) does.</summary>
    public static void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_mpirun.HasExited) _mpirun.Kill(entireProcessTree: true);
        _mpirun.Dispose();
    }
}
