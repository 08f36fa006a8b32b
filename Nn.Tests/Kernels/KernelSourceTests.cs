using CudaNn.Kernels;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace CudaNn.Tests.Kernels;

public partial class KernelSourceTests
{
    [Test]
    public void EmbeddedSource_IsTheRepositoryFile_AndHashesToSha256()
    {
        byte[] onDisk = File.ReadAllBytes(RepositoryFiles.Path("kernels.cu"));

        Assert.That(KernelSource.Text, Is.EqualTo(System.Text.Encoding.UTF8.GetString(onDisk)), "rebuild: the embedded kernels.cu is stale");
        Assert.That(KernelSource.Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(onDisk))));
    }

    [Test]
    public void Source_OpensWithTheGuardedEmulatorInclude_AndHasNoOtherEmulatorCode()
    {
        string text = KernelSource.Text.Replace("\r\n", "\n");
        const string guard = "#ifdef CUDANN_EMULATOR\n#include \"cuda_emulator.h\"\n#endif\n";

        int firstDirective = text.IndexOf('#');
        Assert.That(text.IndexOf(guard, StringComparison.Ordinal), Is.EqualTo(firstDirective), "the guarded include is the first directive");
        Assert.That(Regex.Matches(text, "CUDANN_EMULATOR|cuda_emulator").Count, Is.EqualTo(2));
    }

    [Test]
    public void EveryEntryPoint_IsExternCGlobal_WithACommentStatingItsTrafficAbove()
    {
        string[] lines = KernelSource.Text.Replace("\r\n", "\n").Split('\n');
        var entries = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].Contains("__global__", StringComparison.Ordinal) || lines[i].TrimStart().StartsWith("//", StringComparison.Ordinal))
                continue;
            Match entry = EntryPoint().Match(lines[i]);
            Assert.That(entry.Success, Is.True, $"line {i + 1} declares a kernel that is not extern \"C\" __global__ void: {lines[i]}");
            entries.Add(entry.Groups[1].Value);
            Assert.That(lines[i - 1], Does.StartWith("// ").And.Contain("writes"),
                $"kernel {entry.Groups[1].Value} (line {i + 1}) needs a one-line comment above it saying what it computes and its memory traffic");
        }

        Assert.That(entries, Is.EquivalentTo(ExpectedKernels.Names));
    }

    [GeneratedRegex(@"^extern ""C"" __global__ void (?:__launch_bounds__\([^)]*\) )?(\w+)\(")]
    private static partial Regex EntryPoint();
}

/// <summary>The entry points kernels.cu must define, in source order.</summary>
internal static class ExpectedKernels
{
    public static readonly string[] Names =
    [
        "activation_forward", "activation_backward", "bias_activation_forward", "bias_grad", "bias_grad_finish", "relu_mask_write", "relu_mask_apply",
        "layer_norm_forward", "layer_norm_backward",
        "softmax_cross_entropy", "mse_loss", "loss_finish",
        "adam_step", "sgd_step", "sum_squares", "clip_coefficient", "scale_by", "clamp", "dropout_forward", "mlp_forward", "mlp_backward_data",
        "mlp_weight_grads", "gather_normalize", "gather_rows", "fill", "axpy", "copy", "multiply",
    ];
}
