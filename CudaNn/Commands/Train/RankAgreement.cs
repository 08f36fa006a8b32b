using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using CudaNn.Distributed;

namespace CudaNn.Cli.Commands.Train;

/// <summary>
/// Checks at start-up that every rank of a data-parallel job was given the same run: the ranks step together, so one
/// given another learning rate, seed or data trains garbage quietly, and one given another batch size, model, optimizer or
/// number of epochs fails later in a collective that cannot say why. Rank 0 sends its settings to every rank as text;
/// the lowest rank that differs sends its own back, and rank 0 names the first field that differs with both values.
/// What may differ per rank (the device, what rank 0 alone writes, --json, --collective-timeout) is not part of the settings.
/// </summary>
internal static class RankAgreement
{
    /// <summary>
    /// Null when every rank has the same <paramref name="settings"/>; otherwise the message (on rank 0; an empty string on
    /// the other ranks, which leave the reporting to it). Every rank must call it, at the same point.
    /// </summary>
    public static string? Check(ProcessGroup group, IReadOnlyList<(string Field, string Value)> settings)
    {
        string own = Encode(settings);
        string first = Broadcast(group, own, root: 0);
        // The lowest rank that differs, as the largest of (world size - rank) over the ranks.
        double highest = group.AllReduce([first == own ? 0 : group.WorldSize - group.Rank], ReduceOp.Max)[0];
        if (highest == 0) return null;
        int rank = group.WorldSize - (int)highest;
        string theirs = Broadcast(group, own, root: rank);
        if (group.Rank != 0) return "";
        var mine = Decode(first);
        var other = Decode(theirs);
        foreach (var (field, value) in mine)
        {
            string otherValue = other.GetValueOrDefault(field, "(none)");
            if (otherValue != value)
                return $"rank {rank}'s {field} is {OptionValues.Quote(otherValue)} but rank 0's is {OptionValues.Quote(value)}; " +
                    "every rank of a job must be given the same run (only --device, --save, --plot, --save-every, --keep, --json and --collective-timeout may differ)";
        }
        return $"rank {rank}'s settings differ from rank 0's";
    }

    /// <summary>SHA-256 of a file's bytes, in hex: a fingerprint two ranks can compare without sending the file.</summary>
    public static string FileDigest(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Encode(IReadOnlyList<(string Field, string Value)> settings) =>
        string.Join("\n", settings.Select(s => $"{s.Field}\t{s.Value.Replace('\n', ' ').Replace('\t', ' ')}"));

    private static Dictionary<string, string> Decode(string text) =>
        text.Split('\n').Select(line => line.Split('\t', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    /// <summary>Rank <paramref name="root"/>'s text on every rank: its length, then its UTF-8 bytes packed four to an int.</summary>
    private static string Broadcast(ProcessGroup group, string text, int root)
    {
        byte[] own = Encoding.UTF8.GetBytes(text);
        using var length = Tensor.FromArray([own.Length], [1], group.Device);
        group.Broadcast(length, root);
        group.Synchronize();
        int count = length.ToArray<int>()[0];
        var words = new int[(count + 3) / 4];
        if (group.Rank == root) Buffer.BlockCopy(own, 0, words, 0, own.Length);
        using var shared = Tensor.FromArray(words, [words.Length], group.Device);
        group.Broadcast(shared, root);
        group.Synchronize();
        var bytes = new byte[words.Length * 4];
        Buffer.BlockCopy(shared.ToArray<int>(), 0, bytes, 0, bytes.Length);
        return Encoding.UTF8.GetString(bytes, 0, count);
    }
}
