using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CudaNn.Cuda;

/// <summary>What ptxas reported for one kernel on one architecture.</summary>
/// <param name="Kernel">The entry point's (extern "C" or mangled) name.</param>
/// <param name="Architecture">The real architecture compiled for, e.g. "sm_90".</param>
/// <param name="Registers">Registers per thread.</param>
/// <param name="SharedMemoryBytes">Static shared memory per block ("smem").</param>
/// <param name="StackFrameBytes">Per-thread stack frame.</param>
/// <param name="SpillStoreBytes">Bytes of registers spilled to local memory per thread.</param>
/// <param name="SpillLoadBytes">Bytes reloaded from spills per thread.</param>
/// <param name="ConstantBytes">Bank-0 constant memory (kernel parameters and friends, "cmem[0]").</param>
internal sealed record KernelResources(
    string Kernel, string Architecture, int Registers, int SharedMemoryBytes,
    int StackFrameBytes, int SpillStoreBytes, int SpillLoadBytes, int ConstantBytes);

/// <summary>
/// Per-kernel resources parsed from ptxas's verbose output (NVRTC puts it in the program log when given
/// <c>--ptxas-options=--verbose</c>). The lines it reads, as NVRTC 11.8 to 13 print them:
/// <code>
/// ptxas info    : Compiling entry function 'axpy' for 'sm_80'
/// ptxas info    : Function properties for axpy
/// ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
/// ptxas info    : Used 12 registers, used 1 barriers, 256 bytes smem, 380 bytes cmem[0]
/// </code>
/// ("used N barriers" appears from CUDA 12; lines about non-entry functions are ignored).
/// </summary>
internal sealed partial class KernelResourceReport(IReadOnlyList<KernelResources> kernels)
{
    public IReadOnlyList<KernelResources> Kernels { get; } = kernels;

    /// <summary>The entry for <paramref name="kernel"/>; throws <see cref="KeyNotFoundException"/> naming what was reported.</summary>
    public KernelResources this[string kernel] =>
        Kernels.LastOrDefault(k => k.Kernel == kernel)
        ?? throw new KeyNotFoundException($"ptxas reported no kernel '{kernel}' (reported: {string.Join(", ", Kernels.Select(k => k.Kernel))}).");

    public static KernelResourceReport Parse(string ptxasOutput)
    {
        ArgumentNullException.ThrowIfNull(ptxasOutput);
        var kernels = new List<KernelResources>();
        KernelResources? current = null;
        string? propertiesFor = null;

        foreach (string line in ptxasOutput.Split('\n'))
        {
            if (CompilingEntry().Match(line) is { Success: true } entry)
            {
                Flush();
                current = new KernelResources(entry.Groups[1].Value, entry.Groups[2].Value, 0, 0, 0, 0, 0, 0);
                propertiesFor = null;
            }
            else if (FunctionProperties().Match(line) is { Success: true } properties)
            {
                propertiesFor = properties.Groups[1].Value;
            }
            else if (current is not null && StackAndSpills().Match(line) is { Success: true } stack && propertiesFor == current.Kernel)
            {
                current = current with { StackFrameBytes = Int(stack, 1), SpillStoreBytes = Int(stack, 2), SpillLoadBytes = Int(stack, 3) };
            }
            else if (current is not null && UsedRegisters().Match(line) is { Success: true } used)
            {
                current = current with
                {
                    Registers = Int(used, 1),
                    SharedMemoryBytes = Bytes(line, "smem"),
                    ConstantBytes = Bytes(line, "cmem[0]"),
                };
                Flush();
            }
        }
        Flush();
        return new KernelResourceReport(kernels);

        void Flush()
        {
            if (current is not null)
                kernels.Add(current);
            current = null;
        }
    }

    /// <summary>A plain-text table, one kernel per line, for docs/kernels.md and the command line.</summary>
    public override string ToString()
    {
        var text = new StringBuilder("kernel | arch | registers | smem B | stack B | spill stores B | spill loads B\n");
        foreach (KernelResources k in Kernels)
            text.Append(CultureInfo.InvariantCulture, $"{k.Kernel} | {k.Architecture} | {k.Registers} | {k.SharedMemoryBytes} | {k.StackFrameBytes} | {k.SpillStoreBytes} | {k.SpillLoadBytes}\n");
        return text.ToString();
    }

    private static int Int(Match match, int group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    private static int Bytes(string line, string what)
    {
        Match match = Regex.Match(line, @"(\d+) bytes " + Regex.Escape(what));
        return match.Success ? Int(match, 1) : 0;
    }

    [GeneratedRegex(@"Compiling entry function '([^']+)' for '([^']+)'")]
    private static partial Regex CompilingEntry();

    [GeneratedRegex(@"Function properties for (\S+)")]
    private static partial Regex FunctionProperties();

    [GeneratedRegex(@"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")]
    private static partial Regex StackAndSpills();

    [GeneratedRegex(@"Used (\d+) registers")]
    private static partial Regex UsedRegisters();
}
