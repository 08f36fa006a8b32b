using CudaNn.Cuda;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Runtime.Compilation;

public class NvrtcCompilerTests
{
    [Test]
    public void Version_IsAtLeast11_2AndListsSm80()
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();
        TestContext.Out.WriteLine($"NVRTC {nvrtc.Version} from {NvrtcCompiler.Status.LoadedFrom}");

        Assert.That(nvrtc.Version, Is.GreaterThanOrEqualTo(new Version(11, 2)));
        Assert.That(nvrtc.SupportedArchitectures, Does.Contain(80));
    }

    [TestCase("compute_70")]
    [TestCase("compute_80")]
    [TestCase("compute_90")]
    public void Compile_ToVirtualArchitecture_GivesPtxForThatTargetAndNoCubin(string architecture)
    {
        NvrtcCompilation result = Requirements.Nvrtc().Compile(TestKernels.Source, TestKernels.ProgramName, [$"-arch={architecture}"]);

        string smTarget = "sm_" + architecture["compute_".Length..];
        Assert.That(result.Ptx, Does.Contain($".target {smTarget}"));
        Assert.That(result.Ptx, Does.Contain(".visible .entry axpy("));
        Assert.That(result.Ptx, Does.Contain(".visible .entry spill("));
        Assert.That(result.Cubin, Is.Null);
    }

    [TestCase("sm_80")]
    [TestCase("sm_90")]
    public void Compile_ToRealArchitecture_GivesElfCubin(string architecture)
    {
        NvrtcCompilation result = Requirements.Nvrtc().Compile(TestKernels.Source, TestKernels.ProgramName, [$"-arch={architecture}"]);

        Assert.That(result.Cubin, Is.Not.Null);
        Assert.That(result.Cubin!.Take(4).ToArray(), Is.EqualTo(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }));
        Assert.That(result.Image, Is.SameAs(result.Cubin));
    }

    [Test]
    public void Compile_SourceError_ThrowsWithProgramLog()
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();

        var error = Assert.Throws<NvrtcCompileException>(() => nvrtc.Compile(TestKernels.BrokenSource, "broken.cu", ["-arch=compute_80"]));

        Assert.That(error!.StatusName, Is.EqualTo("NVRTC_ERROR_COMPILATION"));
        Assert.That(error.Log, Does.Contain("broken.cu(3)").And.Contain("undefined_identifier"));
        Assert.That(error.Message, Does.Contain("broken.cu").And.Contain("undefined_identifier").And.Contain("-arch=compute_80"));
    }

    [Test]
    public void Compile_UnknownOption_ThrowsInvalidOption()
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();

        var error = Assert.Throws<NvrtcCompileException>(() => nvrtc.Compile(TestKernels.Source, TestKernels.ProgramName, ["--no-such-option"]));

        Assert.That(error!.StatusName, Is.EqualTo("NVRTC_ERROR_INVALID_OPTION"));
        Assert.That(error.Log, Does.Contain("--no-such-option"));
    }

    [Test]
    public void Compile_WithPtxasVerbose_ReportsEachKernelsResources()
    {
        NvrtcCompilation result = Requirements.Nvrtc().Compile(TestKernels.Source, TestKernels.ProgramName,
            ["-arch=sm_80", "--ptxas-options=--verbose", "-maxrregcount=32"]);
        TestContext.Out.WriteLine(result.Log);

        KernelResourceReport report = result.Resources;

        Assert.That(report.Kernels.Select(k => k.Kernel), Is.EquivalentTo(new[] { "axpy", "spill" }));
        KernelResources axpy = report["axpy"];
        Assert.That(axpy.Architecture, Is.EqualTo("sm_80"));
        Assert.That(axpy.SharedMemoryBytes, Is.EqualTo(256 * sizeof(float)));
        Assert.That(axpy.Registers, Is.InRange(1, 32));
        Assert.That(axpy.SpillStoreBytes, Is.Zero);
        // 200 floats cannot live in 32 registers: ptxas must spill.
        KernelResources spill = report["spill"];
        Assert.That(spill.Registers, Is.LessThanOrEqualTo(32));
        Assert.That(spill.SpillStoreBytes, Is.GreaterThan(0));
        Assert.That(spill.SpillLoadBytes, Is.GreaterThan(0));
        Assert.That(spill.StackFrameBytes, Is.GreaterThanOrEqualTo(spill.SpillStoreBytes));
    }
}
