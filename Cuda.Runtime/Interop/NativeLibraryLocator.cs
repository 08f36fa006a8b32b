using System.Globalization;
using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

/// <summary>
/// Finds and loads one CUDA library the way a user would expect, without editing LD_LIBRARY_PATH:
/// an explicit override first, then the CUDA toolkit folders, the loader's default path, the system
/// library folder, the container driver folders (the driver) and the <c>nvidia/*/lib</c> folders of Python
/// wheels in the active environment, the environment of the python3 on PATH and the system's. The environment is injected so
/// tests can describe machines that are not this one.
/// </summary>
/// <param name="getEnvironmentVariable">Reads an environment variable (injected, so tests can describe other machines).</param>
/// <param name="homeFolder">The user's home folder, for ~/.local and ~/.pyenv.</param>
/// <param name="driverCudaMajor">The CUDA major version of the installed driver (13 for 13.0), or null when there is none;
/// a toolkit library of a newer major than the driver is skipped, because the driver cannot run what it produces.</param>
internal sealed class NativeLibraryLocator(Func<string, string?> getEnvironmentVariable, string homeFolder, Func<int?>? driverCudaMajor = null)
{
    private const string SystemLibFolder = "/usr/lib/x86_64-linux-gnu";

    /// <summary>Where containers (NVIDIA's container toolkit) and WSL mount the driver's libraries.</summary>
    private static readonly string[] DriverFolders = ["/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/wsl/lib"];

    public static NativeLibraryLocator ForThisProcess() =>
        new(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
            () => CudaDriver.Version / 1000);

    /// <summary>Loads the newest file for <paramref name="spec"/>, or says why none could be loaded.</summary>
    public NativeLibraryStatus Load(NativeLibrarySpec spec)
    {
        string? overridePath = getEnvironmentVariable(spec.OverrideVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
            return LoadOverride(spec, overridePath);

        var failures = new List<string>();
        IReadOnlyList<string?> folders = SearchFolders(spec);
        int? maxMajor = spec.LimitedByDriver ? driverCudaMajor?.Invoke() : null;
        var tooNew = spec.FileNames.Where(f => maxMajor is not null && MajorVersion(f) > maxMajor).ToList();
        foreach (string fileName in spec.FileNames.Except(tooNew))
        {
            foreach (string? folder in folders)
            {
                NativeLibraryStatus? loaded = folder is null
                    ? TryLoadFromLoaderPath(spec, fileName)
                    : TryLoadFile(spec, Path.Combine(folder, fileName), failures);
                if (loaded is not null)
                    return loaded;
            }
        }

        string searched = string.Join(", ", folders.Select(f => f ?? "the loader's default path"));
        string detail = failures.Count > 0 ? "; " + string.Join("; ", failures) : "";
        string skipped = tooNew.Count > 0 ? $"; {string.Join(" / ", tooNew)} not tried: newer than the driver's CUDA {maxMajor}" : "";
        return Failed(spec, $"{string.Join(" / ", spec.FileNames.Except(tooNew))} not found (searched {searched}){detail}{skipped}");
    }

    /// <summary>The major version in a versioned file name: 13 for "libnvrtc.so.13", 11 for "libnvrtc.so.11.2".</summary>
    internal static int MajorVersion(string fileName)
    {
        int versionStart = fileName.IndexOf(".so.", StringComparison.Ordinal);
        return versionStart >= 0 && int.TryParse(fileName[(versionStart + 4)..].Split('.')[0], out int major) ? major : 0;
    }

    /// <summary>Folders searched, in order; null stands for the loader's default search path.</summary>
    public IReadOnlyList<string?> SearchFolders(NativeLibrarySpec spec)
    {
        var folders = new List<string?>();
        if (spec.SearchToolkitFolders)
        {
            foreach (string variable in new[] { "CUDA_PATH", "CUDA_HOME" })
            {
                string? root = getEnvironmentVariable(variable);
                if (!string.IsNullOrWhiteSpace(root))
                    folders.Add(Path.Combine(root, "lib64"));
            }
            folders.Add("/usr/local/cuda/lib64");
            folders.AddRange(VersionedToolkitFolders());
        }
        folders.Add(null);
        folders.Add(SystemLibFolder);
        if (!spec.SearchToolkitFolders)
        {
            folders.Add("/usr/lib64");
            folders.AddRange(DriverFolders);
        }
        else
        {
            folders.AddRange(PythonWheelFolders());
        }
        return folders.Distinct().ToList();
    }

    private NativeLibraryStatus LoadOverride(NativeLibrarySpec spec, string overridePath)
    {
        var failures = new List<string>();
        if (File.Exists(overridePath))
            return TryLoadFile(spec, overridePath, failures)
                ?? Failed(spec, $"{spec.OverrideVariable}={overridePath} could not be loaded: {failures[0]}");
        if (Directory.Exists(overridePath))
        {
            foreach (string fileName in spec.FileNames)
            {
                NativeLibraryStatus? loaded = TryLoadFile(spec, Path.Combine(overridePath, fileName), failures);
                if (loaded is not null)
                    return loaded;
            }
            string detail = failures.Count > 0 ? ": " + string.Join("; ", failures) : "";
            return Failed(spec, $"{spec.OverrideVariable}={overridePath} holds no loadable {string.Join(" / ", spec.FileNames)}{detail}");
        }
        return Failed(spec, $"{spec.OverrideVariable}={overridePath} does not exist");
    }

    private static NativeLibraryStatus? TryLoadFromLoaderPath(NativeLibrarySpec spec, string fileName) =>
        NativeLibrary.TryLoad(fileName, out nint handle)
            ? new NativeLibraryStatus(spec.DisplayName, MappedPath(fileName) ?? fileName, null) { Handle = handle }
            : null;

    // The loader does not say which file it picked; the process's memory map does ("libnvrtc.so.11.2" is
    // a link to ".../libnvrtc.so.11.8.89", so match on the name up to the major version).
    private static string? MappedPath(string fileName)
    {
        const string maps = "/proc/self/maps";
        int versionStart = fileName.IndexOf(".so.", StringComparison.Ordinal);
        if (versionStart < 0 || !File.Exists(maps))
            return null;
        string prefix = fileName[..(versionStart + 4)] + fileName[(versionStart + 4)..].Split('.')[0];
        try
        {
            return File.ReadLines(maps)
                .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? line[slash..].Trim() : null)
                .FirstOrDefault(path => path is not null && Path.GetFileName(path).StartsWith(prefix, StringComparison.Ordinal)
                    && (Path.GetFileName(path).Length == prefix.Length || Path.GetFileName(path)[prefix.Length] == '.'));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static NativeLibraryStatus? TryLoadFile(NativeLibrarySpec spec, string path, List<string> failures)
    {
        if (!File.Exists(path))
            return null;
        try
        {
            LoadCompanion(spec, path);
            nint handle = NativeLibrary.Load(path);
            return new NativeLibraryStatus(spec.DisplayName, path, null) { Handle = handle };
        }
        catch (DllNotFoundException e)
        {
            failures.Add($"{path}: {e.Message}");
            return null;
        }
    }

    // Loading the sibling by full path first lets the library's own lookup of it (by soname) succeed.
    private static void LoadCompanion(NativeLibrarySpec spec, string path)
    {
        if (spec.CompanionPattern is null)
            return;
        int major = MajorVersion(Path.GetFileName(path));
        if (major == 0)
            return;
        string folder = Path.GetDirectoryName(path)!;
        string? companion = Directory.EnumerateFiles(folder, spec.CompanionPattern.Replace("{major}", major.ToString(CultureInfo.InvariantCulture)))
            .OrderBy(f => f.Length)
            .FirstOrDefault();
        if (companion is not null)
            NativeLibrary.TryLoad(companion, out _);
    }

    private static IEnumerable<string> VersionedToolkitFolders() =>
        SafeDirectories("/usr/local", "cuda-*")
            .Select(folder => (folder, version: Version.TryParse(Path.GetFileName(folder)[5..], out Version? v) ? v : new Version()))
            .OrderByDescending(x => x.version)
            .Select(x => Path.Combine(x.folder, "lib64"));

    private IEnumerable<string> PythonWheelFolders()
    {
        // The environments a user's python3 would import from come first: an activated one, then that of the first
        // python3 on PATH (a virtual environment need not be activated to be the one on PATH), then system folders.
        var libRoots = new List<string>();
        foreach (string variable in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
            if (getEnvironmentVariable(variable) is { } prefix && !string.IsNullOrWhiteSpace(prefix))
                libRoots.Add(Path.Combine(prefix, "lib"));
        if (PythonOnPath() is { } pythonPrefix)
            libRoots.Add(Path.Combine(pythonPrefix, "lib"));
        libRoots.AddRange(["/usr/lib", "/usr/local/lib", Path.Combine(homeFolder, ".local", "lib")]);
        libRoots.AddRange(SafeDirectories(Path.Combine(homeFolder, ".pyenv", "versions"), "*").Select(v => Path.Combine(v, "lib")));

        // Within one root the newest python3.N first; the roots keep their order.
        foreach (string root in libRoots.Distinct())
            foreach (string python in SafeDirectories(root, "python3*").OrderByDescending(p => p, StringComparer.Ordinal))
                foreach (string packages in new[] { "site-packages", "dist-packages" })
                    foreach (string wheel in SafeDirectories(Path.Combine(python, packages, "nvidia"), "*").Order(StringComparer.Ordinal))
                        yield return Path.Combine(wheel, "lib");
    }

    /// <summary>The prefix (the folder above bin/) of the first python3 on PATH, or null.</summary>
    private string? PythonOnPath()
    {
        foreach (string folder in (getEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(folder, "python3")))
                return Path.GetDirectoryName(Path.GetFullPath(folder).TrimEnd('/'));
        return null;
    }

    private static IEnumerable<string> SafeDirectories(string folder, string pattern)
    {
        try
        {
            return Directory.Exists(folder) ? Directory.GetDirectories(folder, pattern) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static NativeLibraryStatus Failed(NativeLibrarySpec spec, string reason) => new(spec.DisplayName, null, reason);
}
