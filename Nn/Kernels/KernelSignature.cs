using System.Text.RegularExpressions;

namespace CudaNn;

/// <summary>
/// An entry point's parameters, read from its CUDA source: PTX cannot tell a pointer from a 64-bit integer and the
/// emulator has no PTX, so the declaration is what a launch is checked against.
/// </summary>
internal static partial class KernelSignature
{
    public static IReadOnlyList<KernelParameter> Parse(string source, string name, IReadOnlyDictionary<string, string>? macros = null)
    {
        string code = Kernels.Emulation.EmulatorSourceFiles.WithoutComments(source);
        var entries = EntryPoint().Matches(code).ToList();
        var match = entries.FirstOrDefault(m => m.Groups["name"].Value == name);
        if (match is null)
            throw new ArgumentException($"RawKernel: the source has no extern \"C\" __global__ function named '{name}'; it has " +
                (entries.Count == 0 ? "none" : string.Join(", ", entries.Select(m => m.Groups["name"].Value))), nameof(name));
        if (entries.Count(m => m.Groups["name"].Value == name) > 1)
            throw new ArgumentException($"RawKernel: '{name}' is declared more than once; an extern \"C\" entry point cannot be overloaded", nameof(name));
        string list = match.Groups["parameters"].Value.Trim();
        if (list is "" or "void") return [];
        return list.Split(',').Select((text, i) => Parameter(name, Expand(text, macros), i)).ToArray();
    }

    /// <summary>The first construct of <paramref name="source"/> the host emulator cannot run (see cuda_emulator.h), or null.</summary>
    public static string? WhatTheEmulatorCannotRun(string source)
    {
        string code = Kernels.Emulation.EmulatorSourceFiles.WithoutComments(source);
        if (InlineAssembly().IsMatch(code)) return "inline PTX (asm)";
        if (HalfPrecision().Match(code) is { Success: true } half) return $"half-precision types ({half.Value})";
        if (code.Contains("cooperative_groups", StringComparison.Ordinal)) return "cooperative groups";
        return null;
    }

    /// <summary>A parameter's text with the defined macros' values in place of their names.</summary>
    private static string Expand(string text, IReadOnlyDictionary<string, string>? macros) =>
        macros is null || macros.Count == 0 ? text : Words().Replace(text, m => macros.TryGetValue(m.Value, out var value) ? value : m.Value);

    private static KernelParameter Parameter(string kernel, string text, int index)
    {
        var words = Words().Matches(text.Replace("*", " * ")).Select(m => m.Value)
            .Where(w => w is not ("const" or "__restrict__" or "__restrict" or "restrict" or "volatile" or "__grid_constant__")).ToList();
        int stars = words.Count(w => w == "*");
        words.RemoveAll(w => w == "*");
        if (words.Count < 2)
            throw new ArgumentException($"RawKernel '{kernel}': parameter {index} ('{text.Trim()}') needs a type and a name");
        string name = words[^1];
        string baseType = string.Join(" ", words[..^1]);
        if (stars > 1)
            throw new ArgumentException($"RawKernel '{kernel}': parameter '{name}' is a pointer to a pointer; a tensor passes one pointer");
        if (stars == 1)
        {
            DType? element = baseType switch
            {
                "float" => DType.Float32,
                "double" => DType.Float64,
                "int" or "int32_t" => DType.Int32,
                "unsigned char" or "uint8_t" => DType.UInt8,
                _ => null,
            };
            return new KernelParameter(name, baseType + "*", IsPointer: true, element);
        }
        string scalar = baseType switch
        {
            "int" or "signed" or "signed int" or "int32_t" => "int",
            "unsigned" or "unsigned int" or "uint32_t" => "unsigned int",
            "long" or "long int" or "long long" or "long long int" or "int64_t" or "ptrdiff_t" => "long long",
            "unsigned long" or "unsigned long long" or "uint64_t" or "size_t" => "unsigned long long",
            "float" => "float",
            "double" => "double",
            _ => throw new ArgumentException($"RawKernel '{kernel}': parameter '{name}' is a {baseType}; a launch passes pointers (tensors) and " +
                "int, unsigned int, long long, unsigned long long (size_t), float and double"),
        };
        return new KernelParameter(name, scalar, IsPointer: false, null);
    }

    [GeneratedRegex(@"extern\s*""C""\s+(?:[A-Za-z_]\w*(?:\s*\([^()]*\))?\s+)*?__global__\s+(?:[A-Za-z_]\w*(?:\s*\([^()]*\))?\s+)*?void\s+(?:__launch_bounds__\s*\([^()]*\)\s*)?(?<name>[A-Za-z_]\w*)\s*\((?<parameters>[^()]*)\)")]
    private static partial Regex EntryPoint();

    [GeneratedRegex(@"[A-Za-z_]\w*|\*")]
    private static partial Regex Words();

    [GeneratedRegex(@"\basm\s*(?:volatile\s*)?\(|\b__asm__\b")]
    private static partial Regex InlineAssembly();

    [GeneratedRegex(@"\b(?:__half2?|half2?|__nv_bfloat162?)\b|cuda_fp16\.h|cuda_bf16\.h")]
    private static partial Regex HalfPrecision();
}
