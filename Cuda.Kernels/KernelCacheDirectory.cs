namespace CudaNn.Kernels;

/// <summary>
/// Where compiled kernel images are kept: <c>$CUDANN_CACHE_DIR/kernels</c> when the variable is set, else
/// <c>$XDG_CACHE_HOME/cudann/kernels</c>, else <c>~/.cache/cudann/kernels</c> (the emulator's builds sit beside them).
/// </summary>
internal static class KernelCacheDirectory
{
    /// <summary>The environment variable that moves CudaNn's whole cache (kernels go in its "kernels" folder).</summary>
    public const string OverrideVariable = "CUDANN_CACHE_DIR";

    /// <summary>The directory for this process's environment.</summary>
    public static string Default =>
        Resolve(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The directory the rules above give for <paramref name="environment"/> and home directory <paramref name="home"/>.</summary>
    public static string Resolve(Func<string, string?> environment, string home)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment(OverrideVariable) is { Length: > 0 } explicitDirectory)
            return Path.Combine(explicitDirectory, "kernels");
        // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
        if (environment("XDG_CACHE_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg))
            return Path.Combine(xdg, "cudann", "kernels");
        if (string.IsNullOrEmpty(home))
            throw new InvalidOperationException(
                $"No directory for the kernel cache: neither {OverrideVariable} nor XDG_CACHE_HOME is set and there is no home directory.");
        return Path.Combine(home, ".cache", "cudann", "kernels");
    }
}
