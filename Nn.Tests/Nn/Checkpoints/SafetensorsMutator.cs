using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace CudaNn.Tests.Nn.Checkpoints;

/// <summary>
/// Makes hostile variants of a valid safetensors file: raw byte damage, forged length prefixes,
/// hostile JSON tokens spliced into the header, and structurally rewritten headers (duplicate
/// names, overlapping or out-of-range offsets, negative or overflowing dimensions) whose length
/// prefix is kept consistent so they reach the deepest checks.
/// </summary>
internal sealed partial class SafetensorsMutator(Random random, byte[] valid)
{
    public static readonly string[] Kinds = ["bit-flip", "truncate", "insert", "delete", "length-prefix", "token-splice", "structure", "json-noise"];

    private static readonly ulong[] HostileLengths =
        [0, 1, 7, 8, 100_000_000, 100_000_001, 1UL << 31, 1UL << 32, 1UL << 60, 1UL << 63, ulong.MaxValue, ulong.MaxValue - 7];

    private static readonly string[] HostileTokens =
    [
        "-1", "0", "1", "-0", "1.5", "1e400", "2e0", "4294967296", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "1152921504606846976", "null", "true", "[]", "{}", "\"\"",
        "\"F32\"", "\"F16\"", "\"I64\"", "\"U8\"", "\"F8_E4M3\"", "\"__metadata__\"", "\"w\"", "\"\\ud800\"", "\"\\u0000\"",
        "[0,8]", "[8,0]", "[0,18446744073709551615]", "[1152921504606846976,1152921504606846980]", "\"dtype\"", "\"shape\"",
        "\"data_offsets\"", ",", ":", "{", "}", "[", "]", "", "[[[[[[[[[[1]]]]]]]]]]",
    ];

    private readonly ulong _headerLength = BinaryPrimitives.ReadUInt64LittleEndian(valid);

    private string Json => Encoding.UTF8.GetString(valid, 8, (int)_headerLength);

    private byte[] Buffer => valid[(8 + (int)_headerLength)..];

    public byte[] Mutate(string kind) => kind switch
    {
        "bit-flip" => FlipBits(),
        "truncate" => valid[..random.Next(valid.Length)],
        "insert" => Insert(),
        "delete" => Delete(),
        "length-prefix" => WithLengthPrefix(valid, HostileLengths[random.Next(HostileLengths.Length)] + (ulong)random.Next(2) * (ulong)random.Next(-8, 9)),
        "token-splice" => SpliceToken(),
        "structure" => Restructure(),
        _ => JsonNoise(),
    };

    private byte[] FlipBits()
    {
        byte[] bytes = (byte[])valid.Clone();
        int flips = 1 + random.Next(4);
        // Mostly inside prefix and header, where a flip changes meaning rather than a tensor value.
        int span = random.Next(4) == 0 ? bytes.Length : 8 + (int)_headerLength;
        for (int i = 0; i < flips; i++)
            bytes[random.Next(span)] ^= (byte)(1 << random.Next(8));
        return bytes;
    }

    private byte[] Insert()
    {
        var bytes = valid.ToList();
        byte[] extra = new byte[1 + random.Next(16)];
        random.NextBytes(extra);
        bytes.InsertRange(random.Next(bytes.Count + 1), extra);
        return bytes.ToArray();
    }

    private byte[] Delete()
    {
        int start = random.Next(valid.Length);
        int count = Math.Min(1 + random.Next(16), valid.Length - start);
        return [.. valid[..start], .. valid[(start + count)..]];
    }

    private byte[] SpliceToken()
    {
        MatchCollection tokens = JsonToken().Matches(Json);
        Match victim = tokens[random.Next(tokens.Count)];
        string json = Json[..victim.Index] + HostileTokens[random.Next(HostileTokens.Length)] + Json[(victim.Index + victim.Length)..];
        return Assemble(json, Buffer, keepPrefixConsistent: random.Next(4) != 0);
    }

    private byte[] JsonNoise()
    {
        const string alphabet = "{}[]\",:-0123456789 \\eE.ntrufals";
        char[] json = Json.ToCharArray();
        for (int i = 0, n = 1 + random.Next(3); i < n; i++)
            json[random.Next(json.Length)] = alphabet[random.Next(alphabet.Length)];
        return Assemble(new string(json), Buffer, keepPrefixConsistent: true);
    }

    /// <summary>Rebuilds the header from perturbed entries; see the switch for the perturbations.</summary>
    private byte[] Restructure()
    {
        List<Entry> entries = Entry.ParseAll(Json);
        int i = random.Next(entries.Count);
        int j = random.Next(entries.Count);
        Entry e = entries[i];
        string metadata = "\"__metadata__\":{\"format\":\"pt\"}";
        byte[] buffer = Buffer;
        switch (random.Next(12))
        {
            case 0: entries.Add(e); break;                                                             // duplicate name
            case 1: entries[i] = e with { Begin = Shift(e.Begin), End = Shift(e.End) }; break;
            case 2: entries[i] = e with { Begin = entries[j].Begin, End = entries[j].End }; break;     // overlap
            case 3: entries[i] = e with { Shape = "[-" + random.Next(1, 5) + "]" }; break;
            case 4: entries[i] = e with { Shape = "[4294967296,4294967296,16]" }; break;               // overflowing product
            case 5: entries[i] = e with { Dtype = new[] { "F64", "U8", "I32", "BF16", "Q4", "f32" }[random.Next(6)] }; break;
            case 6: entries[i] = e with { End = "18446744073709551615" }; break;
            case 7: entries[i] = e with { Shape = "[1099511627776]", Dtype = "U8", Begin = "0", End = "1099511627776" }; break; // 1 TiB claimed
            case 8: metadata = "\"__metadata__\":{\"epoch\":" + random.Next(10) + "}"; break;
            case 9: entries.Reverse(); (entries[i], entries[j]) = (entries[j] with { Name = entries[i].Name }, entries[i] with { Name = entries[j].Name }); break;
            case 10: buffer = buffer[..random.Next(buffer.Length + 1)]; break;
            default: entries.RemoveAt(i); break;
        }
        string json = "{" + metadata + string.Concat(entries.Select(x => "," + x.ToJson())) + "}";
        byte[] file = Assemble(json, buffer, keepPrefixConsistent: true);
        return random.Next(20) == 0 ? WithLengthPrefix(file, 1UL << 60) : file;
    }

    private string Shift(string offset) => (long.Parse(offset, System.Globalization.CultureInfo.InvariantCulture) + random.Next(-9, 10)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Assemble(string json, byte[] buffer, bool keepPrefixConsistent)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + header.Length + buffer.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, keepPrefixConsistent ? (ulong)header.Length : (ulong)header.Length + 3);
        header.CopyTo(file, 8);
        buffer.CopyTo(file, 8 + header.Length);
        return file;
    }

    private static byte[] WithLengthPrefix(byte[] file, ulong length)
    {
        byte[] bytes = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        return bytes;
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|[{}\\[\\],:]")]
    private static partial Regex JsonToken();

    private sealed record Entry(string Name, string Dtype, string Shape, string Begin, string End)
    {
        public string ToJson() => $"\"{Name}\":{{\"dtype\":\"{Dtype}\",\"shape\":{Shape},\"data_offsets\":[{Begin},{End}]}}";

        public static List<Entry> ParseAll(string json) =>
            EntryPattern().Matches(json).Select(m => new Entry(m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value, m.Groups[5].Value)).ToList();
    }

    [GeneratedRegex("\"([^\"]+)\":\\{\"dtype\":\"(\\w+)\",\"shape\":(\\[[\\d,]*\\]),\"data_offsets\":\\[(\\d+),(\\d+)\\]\\}")]
    private static partial Regex EntryPattern();
}
