using System.ComponentModel;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace CudaNn.Kernels.Emulation;

/// <summary>What <see cref="EmulatorBuild.Build"/> produced: the library, and whether the compiler had to run.</summary>
public sealed record EmulatorBuildResult(string LibraryPath, bool FromCache, TimeSpan Elapsed, IReadOnlyList<string> EntryPoints);

/// <summary>
/// Compiles a CUDA source for the host emulator with g++ into a shared library, cached on disk under the SHA-256
/// of every file compiled and the flags, so an unchanged source never runs the compiler twice.
/// </summary>
internal static class EmulatorBuild
{
    /// <summary>g++ flags for every unit; part of the cache key. The fibers switch stacks with _longjmp, which fortify would reject.</summary>
    public static readonly IReadOnlyList<string> CompilerFlags =
        ["-O2", "-std=c++17", "-fPIC", "-fvisibility=hidden", "-U_FORTIFY_SOURCE"];

    /// <summary>
    /// g++ flags for the kernels' unit when <see cref="EmulatorOptions.CheckMemory"/> is on: a call before every load
    /// and store (kernel-address mode needs no sanitizer runtime; cuda_emulator_check.cpp defines the calls), and none
    /// of the sanitizer's stack or global red zones, which would need its shadow memory.
    /// </summary>
    public static readonly IReadOnlyList<string> MemoryCheckFlags =
        ["-fsanitize=kernel-address", "--param", "asan-instrumentation-with-call-threshold=0", "--param", "asan-stack=0",
         "--param", "asan-globals=0", "-fno-sanitize-address-use-after-scope"];

    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Returns the cached library for <paramref name="cudaSource"/>, compiling it first when there is none.</summary>
    public static EmulatorBuildResult Build(string cudaSource, EmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var files = new EmulatorSourceFiles(cudaSource, options.ProgramName);
        string directory = options.CacheDirectory ?? DefaultCacheDirectory();
        string library = Path.Combine(directory, $"emulator-{CacheKey(files, options.CheckMemory)}.so");
        if (File.Exists(library))
            return new EmulatorBuildResult(library, true, clock.Elapsed, files.EntryPoints);

        Directory.CreateDirectory(directory);
        string work = Path.Combine(directory, "build-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            foreach (var (name, text) in files.Files)
                File.WriteAllText(Path.Combine(work, name), text);
            Compile(options.Compiler, options.ProgramName, work, files, options.CheckMemory);
            try
            {
                // Same filesystem, so the finished library appears under its final name in one step.
                File.Move(Path.Combine(work, "emulator.so"), library, overwrite: false);
            }
            catch (IOException) when (File.Exists(library))
            {
                // Another process built the same key first; its library is identical.
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        return new EmulatorBuildResult(library, false, clock.Elapsed, files.EntryPoints);
    }

    /// <summary>$CUDANN_CACHE_DIR/emulator, else $XDG_CACHE_HOME/cudann/emulator, else ~/.cache/cudann/emulator.</summary>
    public static string DefaultCacheDirectory()
    {
        string? cudann = Environment.GetEnvironmentVariable("CUDANN_CACHE_DIR");
        if (!string.IsNullOrEmpty(cudann))
            return Path.Combine(cudann, "emulator");
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "cudann", "emulator");
    }

    private static string CacheKey(EmulatorSourceFiles files, bool checkMemory)
    {
        var key = new StringBuilder("cudann-emulator-2\n").AppendJoin(' ', CompilerFlags).Append('\n');
        if (checkMemory)
            key.AppendJoin(' ', MemoryCheckFlags).Append('\n');
        foreach (var (name, text) in files.Files.OrderBy(f => f.Key, StringComparer.Ordinal))
            key.Append(name).Append('\n').Append(text.Length).Append('\n').Append(text).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..32];
    }

    // The kernels' unit and the emulator's own units compile side by side (they take different flags), then link.
    private static void Compile(string compiler, string programName, string work, EmulatorSourceFiles files, bool checkMemory)
    {
        string[] kernels = [.. CompilerFlags, .. checkMemory ? MemoryCheckFlags : [], "-c", files.KernelUnit, "-o", "kernels.o"];
        string[] runtime = [.. CompilerFlags, "-c", .. files.RuntimeUnits];
        Task kernelsDone = Task.Run(() => Run(compiler, programName, work, kernels));
        Run(compiler, programName, work, runtime);
        kernelsDone.GetAwaiter().GetResult();
        Run(compiler, programName, work, ["-shared", .. CompilerFlags, "-o", "emulator.so", "kernels.o", .. files.RuntimeUnits.Select(u => Path.ChangeExtension(u, ".o"))]);
    }

    private static void Run(string compiler, string programName, string work, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(compiler)
        {
            WorkingDirectory = work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception($"{compiler} did not start");
        }
        catch (Win32Exception e)
        {
            throw new EmulatorBuildException(
                $"The host emulator needs a C++ compiler, but '{compiler}' could not be started ({e.Message}). Install g++ or set EmulatorOptions.Compiler.",
                "", isCompilerMissing: true, e);
        }
        using (process)
        {
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(CompileTimeout))
            {
                process.Kill(entireProcessTree: true);
                throw new EmulatorBuildException($"{compiler} did not finish compiling {programName} within {CompileTimeout.TotalMinutes} minutes.", "", false);
            }
            string log = (errors.Result + output.Result).Trim();
            if (process.ExitCode != 0)
                throw new EmulatorBuildException(
                    $"{compiler} could not compile {programName} for the host emulator (exit code {process.ExitCode}):\n{log}", log, isCompilerMissing: false);
        }
    }
}
