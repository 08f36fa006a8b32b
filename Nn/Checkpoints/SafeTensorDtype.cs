namespace CudaNn.Checkpoints;

/// <summary>
/// The element types a safetensors header may name ("F32", "BF16", ...). All are little-endian.
/// The sub-byte and 8-bit float types of newer safetensors versions are not supported and read
/// as an unknown dtype.
/// </summary>
public enum SafeTensorDtype
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

/// <summary>Sizes and header names of <see cref="SafeTensorDtype"/> values.</summary>
public static class SafeTensorDtypes
{
    /// <summary>Bytes per element: 1 for Bool/U8/I8, 2 for I16/U16/F16/BF16, 4 for I32/U32/F32, 8 for I64/U64/F64.</summary>
    public static int ElementSize(this SafeTensorDtype dtype) => dtype switch
    {
        SafeTensorDtype.Bool or SafeTensorDtype.U8 or SafeTensorDtype.I8 => 1,
        SafeTensorDtype.I16 or SafeTensorDtype.U16 or SafeTensorDtype.F16 or SafeTensorDtype.BF16 => 2,
        SafeTensorDtype.I32 or SafeTensorDtype.U32 or SafeTensorDtype.F32 => 4,
        SafeTensorDtype.I64 or SafeTensorDtype.U64 or SafeTensorDtype.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>The name written in the header: "BOOL", "U8", ..., "BF16", "F32", "F64".</summary>
    public static string HeaderName(this SafeTensorDtype dtype) => dtype switch
    {
        SafeTensorDtype.Bool => "BOOL",
        SafeTensorDtype.U8 => "U8",
        SafeTensorDtype.I8 => "I8",
        SafeTensorDtype.I16 => "I16",
        SafeTensorDtype.U16 => "U16",
        SafeTensorDtype.F16 => "F16",
        SafeTensorDtype.BF16 => "BF16",
        SafeTensorDtype.I32 => "I32",
        SafeTensorDtype.U32 => "U32",
        SafeTensorDtype.F32 => "F32",
        SafeTensorDtype.I64 => "I64",
        SafeTensorDtype.U64 => "U64",
        SafeTensorDtype.F64 => "F64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>Parses a header dtype name (case-sensitive, as the format requires).</summary>
    public static bool TryParseHeaderName(string name, out SafeTensorDtype dtype)
    {
        foreach (SafeTensorDtype candidate in Enum.GetValues<SafeTensorDtype>())
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
    public static bool IsFloatingPoint(this SafeTensorDtype dtype) =>
        dtype is SafeTensorDtype.F16 or SafeTensorDtype.BF16 or SafeTensorDtype.F32 or SafeTensorDtype.F64;

    internal static string Describe(string name) =>
        $"'{name}' (known: {string.Join(", ", Enum.GetValues<SafeTensorDtype>().Select(d => d.HeaderName()))})";
}
