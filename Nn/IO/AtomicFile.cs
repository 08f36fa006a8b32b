using System.Text.RegularExpressions;

namespace CudaNn.IO;

/// <summary>
/// Writes a file so that a crash leaves the old file or the new one, never half of one: the bytes go to a hidden
/// temporary file beside the target (.NAME.GUID.tmp), are flushed to disk and then renamed over the target. A
/// temporary left by an earlier write of the same target that was killed is removed by the next write that succeeds.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/>, atomically.</summary>
    public static void Write(string path, Action<FileStream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string target = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{path}' names a root, not a file", nameof(path));
        var started = DateTime.UtcNow;
        string temporary = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                // Data must be on disk before the rename makes it visible, or a crash could leave a renamed but empty file.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        RemoveStale(target, started);
    }

    /// <summary>
    /// Checks that a file can be created beside <paramref name="path"/> by creating and deleting one, so that a run that
    /// will write there fails before its work rather than after it. Throws <see cref="IOException"/> saying why not.
    /// </summary>
    public static void CheckWritable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string target = Path.GetFullPath(path);
        if (Directory.Exists(target)) throw new IOException($"'{path}' is a directory");
        string? directory = Path.GetDirectoryName(target);
        if (directory is null || !Directory.Exists(directory)) throw new IOException($"directory '{directory}' for '{path}' does not exist");
        string probe = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(probe);
            throw new IOException($"cannot create a file in '{directory}' for '{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Deletes this target's temporaries not written since <paramref name="before"/>: those of interrupted writes. A
    /// temporary another process is writing now is newer, and kept.
    /// </summary>
    private static void RemoveStale(string target, DateTime before)
    {
        string name = Path.GetFileName(target);
        try
        {
            foreach (string path in Directory.EnumerateFiles(Path.GetDirectoryName(target)!, $".{name}.*.tmp"))
                if (TemporaryName().Match(Path.GetFileName(path)) is { Success: true } m && m.Groups[1].Value == name &&
                    File.GetLastWriteTimeUtc(path) < before)
                    TryDelete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file is written; leftovers are only untidy.
        }
    }

    [GeneratedRegex(@"^\.(.+)\.[0-9a-f]{32}\.tmp$")]
    private static partial Regex TemporaryName();

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original failure matters more than a leftover temporary file.
        }
    }
}
