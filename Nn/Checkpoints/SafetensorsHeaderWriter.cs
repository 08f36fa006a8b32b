using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace CudaNn.Checkpoints;

/// <summary>
/// Builds the length prefix and JSON header the way the reference writer does, so our files
/// match its bytes: compact JSON, "__metadata__" first, then each tensor as
/// {"dtype":..,"shape":[..],"data_offsets":[begin,end]} in the given order, offsets packed
/// back to back from 0, and the header padded with spaces to a multiple of 8 bytes.
/// </summary>
internal static class SafetensorsHeaderWriter
{
    /// <summary>The 8-byte prefix plus the padded header; the tensor bytes follow in the same order.</summary>
    public static byte[] Build(IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder();
        json.Append('{');
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            AppendString(json, "__metadata__");
            json.Append(":{");
            // Sorted so the same map always gives the same bytes, whatever order the dictionary enumerates in.
            bool firstPair = true;
            foreach (KeyValuePair<string, string> pair in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!firstPair)
                    json.Append(',');
                AppendString(json, pair.Key);
                json.Append(':');
                AppendString(json, pair.Value);
                firstPair = false;
            }
            json.Append('}');
            first = false;
        }
        long offset = 0;
        foreach (SafetensorsEntry tensor in tensors)
        {
            if (!first)
                json.Append(',');
            first = false;
            AppendString(json, tensor.Name);
            json.Append(":{\"dtype\":");
            AppendString(json, tensor.Dtype.HeaderName());
            json.Append(",\"shape\":[");
            json.AppendJoin(',', tensor.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            long end = checked(offset + tensor.Data.Length);
            json.Append(CultureInfo.InvariantCulture, $"],\"data_offsets\":[{offset},{end}]}}");
            offset = end;
        }
        json.Append('}');

        // Strict UTF-8 so a lone surrogate in a name fails here instead of writing '?'.
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        byte[] body;
        try
        {
            body = utf8.GetBytes(json.ToString());
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("a tensor name or metadata string is not valid Unicode (lone surrogate)", ex);
        }
        int padded = (body.Length + 7) / 8 * 8;
        var header = new byte[SafetensorsLimits.LengthPrefixSize + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)padded);
        body.CopyTo(header, SafetensorsLimits.LengthPrefixSize);
        header.AsSpan(SafetensorsLimits.LengthPrefixSize + body.Length).Fill((byte)' ');
        return header;
    }

    /// <summary>A JSON string escaped as serde_json does: \" \\ \b \f \n \r \t, other controls as \u00xx, the rest raw.</summary>
    private static void AppendString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case < ' ': json.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: json.Append(c); break;
            }
        }
        json.Append('"');
    }
}
