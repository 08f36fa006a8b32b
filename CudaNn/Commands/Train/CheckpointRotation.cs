using System.Globalization;
using System.Text.RegularExpressions;

namespace CudaNn.Cli.Commands.Train;

/// <summary>
/// `--save-every N --keep K`: numbered copies NAME.epoch-E.safetensors beside the checkpoint, of which only the
/// K newest are kept. Copies are written under a temporary name and renamed, like the checkpoint itself.
/// </summary>
internal sealed class CheckpointRotation(string savePath, int keep)
{
    private readonly string _directory = Path.GetDirectoryName(Path.GetFullPath(savePath))!;
    private readonly string _stem = Path.GetFileNameWithoutExtension(savePath);

    public int Keep { get; } = keep;

    public string Numbered(int epoch) =>
        Path.Combine(_directory, string.Create(CultureInfo.InvariantCulture, $"{_stem}.epoch-{epoch}.safetensors"));

    /// <summary>The numbered copies on disk, oldest first.</summary>
    public IReadOnlyList<(int Epoch, string Path)> Existing()
    {
        var pattern = new Regex("^" + Regex.Escape(_stem) + @"\.epoch-(\d{1,9})\.safetensors$");
        return Directory.EnumerateFiles(_directory)
            .Select(path => (Match: pattern.Match(Path.GetFileName(path)), Path: path))
            .Where(m => m.Match.Success)
            .Select(m => (int.Parse(m.Match.Groups[1].Value, CultureInfo.InvariantCulture), m.Path))
            .OrderBy(e => e.Item1)
            .ToList();
    }

    /// <summary>Deletes all but the <see cref="Keep"/> newest copies.</summary>
    public void Prune()
    {
        var existing = Existing();
        foreach (var (_, path) in existing.Take(Math.Max(0, existing.Count - Keep)))
            File.Delete(path);
    }
}
