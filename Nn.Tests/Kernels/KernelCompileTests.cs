using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Kernels;

/// <summary>kernels.cu compiles with NVRTC, without a warning, for every architecture CudaNn targets.</summary>
public class KernelCompileTests
{
    [TestCase("compute_70")]
    [TestCase("compute_80")]
    [TestCase("compute_90")]
    public void Compile_ToPtx_IsCleanAndDefinesEveryKernel(string architecture)
    {
        NvrtcCompilation result = Compile(architecture);

        Assert.That(result.Log, Is.Empty, "NVRTC's log holds warnings");
        Assert.That(result.Ptx, Does.Contain($".target sm_{architecture["compute_".Length..]}"));
        foreach (string kernel in ExpectedKernels.Names)
            Assert.That(result.Ptx, Does.Contain($".visible .entry {kernel}("), kernel);
    }

    [TestCase("sm_80")]
    [TestCase("sm_90")]
    public void Compile_ToCubin_IsCleanAndGivesAnElfImage(string architecture)
    {
        NvrtcCompilation result = Compile(architecture);

        Assert.That(result.Log, Is.Empty, "NVRTC's log holds warnings");
        Assert.That(result.Cubin, Is.Not.Null);
        Assert.That(result.Cubin!.Take(4).ToArray(), Is.EqualTo(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }));
    }

    private static NvrtcCompilation Compile(string architecture) =>
        Requirements.Nvrtc().Compile(KernelSource.Text, KernelSource.ProgramName, [.. KernelSource.CompileOptions, $"-arch={architecture}"]);
}
