namespace CudaNn.Checkpoints;

/// <summary>
/// The element types a safetensors header may name ("F32", "BF16", ...). All are little-endian.
/// The sub-byte and 8-bit float types of newer safetensors versions are not supported and read
/// as an unknown dtype.
/// </summary>
public enum SafetensorsDtype
{
    Bool,
    U8,
    I8,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64,
}

/// <summary>Sizes and header names of <see cref="SafetensorsDtype"/> values.</summary>
internal static class SafetensorsDtypes
{
    /// <summary>Bytes per element: 1 for Bool/U8/I8, 2 for I16/U16/F16/BF16, 4 for I32/U32/F32, 8 for I64/U64/F64.</summary>
    public static int ElementSize(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool or SafetensorsDtype.U8 or SafetensorsDtype.I8 => 1,
        SafetensorsDtype.I16 or SafetensorsDtype.U16 or SafetensorsDtype.F16 or SafetensorsDtype.BF16 => 2,
        SafetensorsDtype.I32 or SafetensorsDtype.U32 or SafetensorsDtype.F32 => 4,
        SafetensorsDtype.I64 or SafetensorsDtype.U64 or SafetensorsDtype.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>The name written in the header: "BOOL", "U8", ..., "BF16", "F32", "F64".</summary>
    public static string HeaderName(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool => "BOOL",
        SafetensorsDtype.U8 => "U8",
        SafetensorsDtype.I8 => "I8",
        SafetensorsDtype.I16 => "I16",
        SafetensorsDtype.U16 => "U16",
        SafetensorsDtype.F16 => "F16",
        SafetensorsDtype.BF16 => "BF16",
        SafetensorsDtype.I32 => "I32",
        SafetensorsDtype.U32 => "U32",
        SafetensorsDtype.F32 => "F32",
        SafetensorsDtype.I64 => "I64",
        SafetensorsDtype.U64 => "U64",
        SafetensorsDtype.F64 => "F64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>Parses a header dtype name (case-sensitive, as the format requires).</summary>
    public static bool TryParseHeaderName(string name, out SafetensorsDtype dtype)
    {
        foreach (SafetensorsDtype candidate in Enum.GetValues<SafetensorsDtype>())
        {
            if (string.Equals(candidate.HeaderName(), name, StringComparison.Ordinal))
            {
                dtype = candidate;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>True for F16, BF16, F32 and F64.</summary>
    public static bool IsFloatingPoint(this SafetensorsDtype dtype) =>
        dtype is SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.F32 or SafetensorsDtype.F64;

    internal static string Describe(string name) =>
        $"'{name}' (known: {string.Join(", ", Enum.GetValues<SafetensorsDtype>().Select(d => d.HeaderName()))})";
}
