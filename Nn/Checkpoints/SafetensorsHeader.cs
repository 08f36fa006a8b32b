using System.Text.Json;
using System.Text.Unicode;

namespace CudaNn.Checkpoints;

/// <summary>
/// Reads the JSON header token by token, so that duplicate names and keys are seen (a DOM
/// would silently keep the last one) and nothing is allocated beyond what the header holds.
/// Layout checks (offsets against sizes and each other) follow in <see cref="SafetensorsLayout"/>.
/// </summary>
internal static class SafetensorsHeaderParser
{
    private const string MetadataKey = "__metadata__";

    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long bufferLength, string source)
    {
        if (!Utf8.IsValid(json))
            throw new CheckpointFormatException(source, "header is not valid UTF-8");
        if (json.IsEmpty || json[0] != (byte)'{')
            throw new CheckpointFormatException(source, "header does not start with '{'");
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            SafetensorsHeader header = ParseRoot(ref reader, source);
            SafetensorsLayout.Validate(header.Tensors, bufferLength, source);
            return header;
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException(source, $"header is not valid JSON ({ex.Message})", ex);
        }
    }

    private static SafetensorsHeader ParseRoot(ref Utf8JsonReader reader, string source)
    {
        reader.Read();
        var tensors = new List<TensorHeaderInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyDictionary<string, string>? metadata = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string name = ReadString(ref reader, source);
            if (name.Length == 0)
                throw new CheckpointFormatException(source, "header has a tensor with an empty name");
            if (!names.Add(name))
                throw new CheckpointFormatException(source, $"header names '{name}' more than once");
            if (name == MetadataKey)
                metadata = ParseMetadata(ref reader, source);
            else
                tensors.Add(ParseTensor(ref reader, name, source));
        }
        // The reader throws JsonException if anything but whitespace follows the object.
        if (reader.Read())
            throw new CheckpointFormatException(source, "header has content after its JSON object");
        return new SafetensorsHeader(tensors, metadata ?? new Dictionary<string, string>());
    }

    private static Dictionary<string, string>? ParseMetadata(ref Utf8JsonReader reader, string source)
    {
        JsonTokenType token = Next(ref reader);
        if (token == JsonTokenType.Null)
            return null;
        if (token != JsonTokenType.StartObject)
            throw new CheckpointFormatException(source, $"{MetadataKey} is a {token}, not an object of strings");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string key = ReadString(ref reader, source);
            if (Next(ref reader) != JsonTokenType.String)
                throw new CheckpointFormatException(source, $"{MetadataKey} value of '{key}' is a {reader.TokenType}, not a string");
            if (!metadata.TryAdd(key, ReadString(ref reader, source)))
                throw new CheckpointFormatException(source, $"{MetadataKey} names '{key}' more than once");
        }
        return metadata;
    }

    private static TensorHeaderInfo ParseTensor(ref Utf8JsonReader reader, string name, string source)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
            throw new CheckpointFormatException(source, $"tensor '{name}': entry is a {reader.TokenType}, not an object");
        SafetensorsDtype? dtype = null;
        long[]? shape = null;
        ulong[]? offsets = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string key = ReadString(ref reader, source);
            bool seen = key switch
            {
                "dtype" => dtype is not null,
                "shape" => shape is not null,
                "data_offsets" => offsets is not null,
                _ => throw new CheckpointFormatException(source, $"tensor '{name}': unknown field '{key}' (expected dtype, shape, data_offsets)"),
            };
            if (seen)
                throw new CheckpointFormatException(source, $"tensor '{name}': field '{key}' appears more than once");
            switch (key)
            {
                case "dtype":
                    dtype = ParseDtype(ref reader, name, source);
                    break;
                case "shape":
                    shape = ReadIntegers(ref reader, name, key, source).Select(d => d <= long.MaxValue
                        ? (long)d
                        : throw new CheckpointFormatException(source, $"tensor '{name}': shape dimension {d} is too large")).ToArray();
                    break;
                default:
                    offsets = ReadIntegers(ref reader, name, key, source).ToArray();
                    if (offsets.Length != 2)
                        throw new CheckpointFormatException(source, $"tensor '{name}': data_offsets has {offsets.Length} numbers, not [begin, end]");
                    break;
            }
        }
        if (dtype is null || shape is null || offsets is null)
        {
            string missing = dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw new CheckpointFormatException(source, $"tensor '{name}': missing field '{missing}'");
        }
        return SafetensorsLayout.Describe(name, dtype.Value, shape, offsets[0], offsets[1], source);
    }

    private static SafetensorsDtype ParseDtype(ref Utf8JsonReader reader, string name, string source)
    {
        if (Next(ref reader) != JsonTokenType.String)
            throw new CheckpointFormatException(source, $"tensor '{name}': dtype is a {reader.TokenType}, not a string");
        string text = ReadString(ref reader, source);
        return SafetensorsDtypes.TryParseHeaderName(text, out SafetensorsDtype dtype)
            ? dtype
            : throw new CheckpointFormatException(source, $"tensor '{name}': unknown dtype {SafetensorsDtypes.Describe(text)}");
    }

    /// <summary>An array of non-negative integers; fractions, exponents, negatives and values past 2^64-1 are rejected.</summary>
    private static List<ulong> ReadIntegers(ref Utf8JsonReader reader, string name, string field, string source)
    {
        if (Next(ref reader) != JsonTokenType.StartArray)
            throw new CheckpointFormatException(source, $"tensor '{name}': {field} is a {reader.TokenType}, not an array");
        var values = new List<ulong>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out ulong value))
            {
                string shown = reader.TokenType == JsonTokenType.Number ? Shorten(reader.ValueSpan) : reader.TokenType.ToString();
                throw new CheckpointFormatException(source, $"tensor '{name}': {field} holds {shown}, not a non-negative integer below 2^64");
            }
            values.Add(value);
        }
        return values;
    }

    private static string Shorten(ReadOnlySpan<byte> number) =>
        number.Length <= 40 ? System.Text.Encoding.UTF8.GetString(number) : System.Text.Encoding.UTF8.GetString(number[..40]) + "...";

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        // With the whole header as a final block, Read() only returns false after the root closes.
        if (!reader.Read())
            throw new JsonException("unexpected end of header");
        return reader.TokenType;
    }

    private static string ReadString(ref Utf8JsonReader reader, string source)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            // Escapes such as a lone "\ud800" decode to invalid UTF-16.
            throw new CheckpointFormatException(source, $"header holds a string that is not valid Unicode ({ex.Message})", ex);
        }
    }
}

/// <summary>One tensor as the header describes it; offsets are relative to the start of the byte buffer.</summary>
internal sealed record TensorHeaderInfo(string Name, SafetensorsDtype Dtype, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>A parsed and validated header: tensors in header order, and the "__metadata__" map.</summary>
internal sealed record SafetensorsHeader(IReadOnlyList<TensorHeaderInfo> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>The limits the format puts on the 8-byte length prefix.</summary>
internal static class SafetensorsLimits
{
    /// <summary>Size of the little-endian u64 header length at the start of every file.</summary>
    public const int LengthPrefixSize = 8;

    /// <summary>
    /// The largest header accepted, as in the reference implementation (100,000,000 bytes):
    /// real headers are kilobytes, and the cap bounds what a hostile length can make us allocate.
    /// </summary>
    public const long MaxHeaderSize = 100_000_000;

    /// <summary>
    /// Checks the declared header length against the cap and the total size, and returns the
    /// length of the byte buffer that follows the header.
    /// </summary>
    public static long BufferLength(ulong headerLength, long totalLength, string source)
    {
        if (headerLength > MaxHeaderSize)
            throw new CheckpointFormatException(source, $"header length {headerLength} exceeds the {MaxHeaderSize}-byte limit");
        long available = totalLength - LengthPrefixSize;
        if ((long)headerLength > available)
            throw new CheckpointFormatException(source, $"header length {headerLength} is larger than the {available} bytes after the length prefix (file truncated?)");
        return available - (long)headerLength;
    }
}

/// <summary>
/// The rules tying the header to the byte buffer: each tensor's range is [begin, end) with
/// begin &lt;= end &lt;= buffer length and end - begin == ElementSize(dtype) * product(shape);
/// sorted by offset, the ranges tile the buffer exactly, with no hole, overlap or trailing byte.
/// </summary>
internal static class SafetensorsLayout
{
    /// <summary>Checks one tensor's offsets and byte length; the buffer bound is checked in <see cref="Validate"/>.</summary>
    public static TensorHeaderInfo Describe(string name, SafetensorsDtype dtype, long[] shape, ulong begin, ulong end, string source)
    {
        string where = $"tensor '{name}'";
        if (begin > end)
            throw new CheckpointFormatException(source, $"{where}: data_offsets [{begin}, {end}] end before they begin");
        if (end > long.MaxValue)
            throw new CheckpointFormatException(source, $"{where}: data_offsets [{begin}, {end}] lie beyond any possible file");
        long? expected = SafetensorsEntry.ByteLength(dtype, shape);
        long actual = (long)(end - begin);
        if (expected is null)
            throw new CheckpointFormatException(source, $"{where}: {dtype.HeaderName()} shape [{string.Join(", ", shape)}] overflows a 64-bit byte count");
        if (expected.Value != actual)
        {
            throw new CheckpointFormatException(source,
                $"{where}: {dtype.HeaderName()} shape [{string.Join(", ", shape)}] needs {expected.Value} bytes but data_offsets [{begin}, {end}] hold {actual}");
        }
        return new TensorHeaderInfo(name, dtype, shape, (long)begin, (long)end);
    }

    /// <summary>Checks that the tensors' ranges cover [0, bufferLength) exactly once.</summary>
    public static void Validate(IReadOnlyList<TensorHeaderInfo> tensors, long bufferLength, string source)
    {
        foreach (TensorHeaderInfo t in tensors)
        {
            if (t.End > bufferLength)
                throw new CheckpointFormatException(source, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] run past the {bufferLength}-byte data buffer");
        }
        TensorHeaderInfo[] byOffset = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToArray();
        long covered = 0;
        TensorHeaderInfo? previous = null;
        foreach (TensorHeaderInfo t in byOffset)
        {
            if (t.Begin > covered)
            {
                string after = previous is null ? "the start of the buffer" : $"tensor '{previous.Name}'";
                throw new CheckpointFormatException(source, $"tensor '{t.Name}': bytes [{covered}, {t.Begin}) between {after} and it belong to no tensor");
            }
            if (t.Begin < covered)
                throw new CheckpointFormatException(source, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] overlap tensor '{previous!.Name}' ending at {covered}");
            covered = t.End;
            previous = t;
        }
        if (covered != bufferLength)
            throw new CheckpointFormatException(source, $"data buffer has {bufferLength} bytes but the tensors cover only the first {covered}");
    }
}
