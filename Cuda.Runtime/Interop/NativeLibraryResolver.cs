using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

/// <summary>
/// The one <see cref="NativeLibrary.SetDllImportResolver"/> of this assembly: maps the logical names of
/// <see cref="LibraryNames"/> to the files <see cref="NativeLibraryLocator"/> finds, once per process,
/// and remembers the outcome so <c>info</c> can say what was loaded from where.
/// </summary>
internal static class NativeLibraryResolver
{
    private static readonly ConcurrentDictionary<string, Lazy<NativeLibraryStatus>> Loaded = new();
    private static readonly Lock InstallLock = new();
    private static bool installed;

    /// <summary>Installs the resolver; called from the static constructor of every binding class.</summary>
    public static void EnsureInstalled()
    {
        lock (InstallLock)
        {
            if (installed)
                return;
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
            installed = true;
        }
    }

    /// <summary>Loads (at most once per process) the library behind a logical name.</summary>
    public static NativeLibraryStatus Load(string logicalName)
    {
        NativeLibrarySpec spec = LibraryNames.Spec(logicalName);
        return Loaded.GetOrAdd(logicalName, _ => new Lazy<NativeLibraryStatus>(
            () => CopyOfCompanionOwner(spec) ?? NativeLibraryLocator.ForThisProcess().Load(spec))).Value;
    }

    // The owner brought its companion in before itself, from its own folder or from wherever the loader resolved the
    // dependency. Loading that sibling file, or else the soname (which the loader matches against what it already
    // holds), returns that same copy, where a search of our own could settle on another file.
    private static NativeLibraryStatus? CopyOfCompanionOwner(NativeLibrarySpec spec)
    {
        if (spec.CompanionOf is null || Load(spec.CompanionOf) is not { IsLoaded: true, LoadedFrom: { } ownerPath })
            return null;
        int major = NativeLibraryLocator.MajorVersion(Path.GetFileName(ownerPath));
        var names = spec.FileNames.Where(f => major == 0 || NativeLibraryLocator.MajorVersion(f) == major).ToList();
        string folder = Path.GetDirectoryName(ownerPath) ?? "";
        string? target = names.Select(f => Path.Combine(folder, f)).FirstOrDefault(p => Path.IsPathRooted(p) && File.Exists(p))
            ?? (major > 0 ? names.FirstOrDefault() : null);
        return target is not null && NativeLibrary.TryLoad(target, out nint handle)
            ? new NativeLibraryStatus(spec.DisplayName, target, null) { Handle = handle }
            : null;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (LibraryNames.All.All(s => s.LogicalName != libraryName))
            return 0;
        // Zero makes the runtime throw DllNotFoundException; callers check Load(...) first to get the reason.
        return Load(libraryName).Handle;
    }
}
