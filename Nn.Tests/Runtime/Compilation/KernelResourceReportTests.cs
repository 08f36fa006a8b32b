using CudaNn.Cuda;

namespace CudaNn.Tests.Runtime.Compilation;

public class KernelResourceReportTests
{
    // Printed by NVRTC 11.8 for -arch=sm_80 --ptxas-options=--verbose -maxrregcount=32: the spill kernel of
    // TestKernels.Source and an axpy staging through a 64-float shared buffer.
    private const string Nvrtc118Log = """
        ptxas info    : 0 bytes gmem
        ptxas info    : Compiling entry function 'spill' for 'sm_80'
        ptxas info    : Function properties for spill
        ptxas         .     1000 bytes stack frame, 1000 bytes spill stores, 1432 bytes spill loads
        ptxas info    : Used 32 registers, 360 bytes cmem[0]
        ptxas info    : Compiling entry function 'axpy' for 'sm_80'
        ptxas info    : Function properties for axpy
        ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
        ptxas info    : Used 12 registers, 256 bytes smem, 380 bytes cmem[0]
        """;

    // The CUDA 12 form: a barrier count, and a non-entry device function's properties before the entry.
    private const string Cuda12Log = """
        ptxas info    : 0 bytes gmem
        ptxas info    : Function properties for _Z6helperf
        ptxas         .     16 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
        ptxas info    : Compiling entry function 'softmax_forward' for 'sm_90'
        ptxas info    : Function properties for softmax_forward
        ptxas         .     8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads
        ptxas info    : Used 40 registers, used 1 barriers, 1024 bytes smem, 384 bytes cmem[0]
        """;

    [Test]
    public void Parse_Nvrtc118Output_GivesBothKernels()
    {
        KernelResourceReport report = KernelResourceReport.Parse(Nvrtc118Log);

        Assert.That(report.Kernels, Is.EqualTo(new[]
        {
            new KernelResources("spill", "sm_80", 32, 0, 1000, 1000, 1432, 360),
            new KernelResources("axpy", "sm_80", 12, 256, 0, 0, 0, 380),
        }));
    }

    [Test]
    public void Parse_Cuda12Output_ReadsPastBarriersAndIgnoresNonEntryFunctions()
    {
        KernelResources kernel = KernelResourceReport.Parse(Cuda12Log)["softmax_forward"];

        Assert.That(kernel, Is.EqualTo(new KernelResources("softmax_forward", "sm_90", 40, 1024, 8, 4, 4, 384)));
    }

    [Test]
    public void Parse_LogWithoutPtxasLines_IsEmpty()
    {
        Assert.That(KernelResourceReport.Parse("").Kernels, Is.Empty);
        Assert.That(KernelResourceReport.Parse("t.cu(3): warning: variable \"x\" was declared but never referenced").Kernels, Is.Empty);
    }

    [Test]
    public void Indexer_UnknownKernel_ThrowsNamingReportedKernels()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => _ = KernelResourceReport.Parse(Nvrtc118Log)["relu_forward"]);

        Assert.That(error!.Message, Does.Contain("relu_forward").And.Contain("spill, axpy"));
    }

    [Test]
    public void ToString_HasOneLinePerKernel()
    {
        string[] lines = KernelResourceReport.Parse(Nvrtc118Log).ToString().TrimEnd().Split('\n');

        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[2], Is.EqualTo("axpy | sm_80 | 12 | 256 | 0 | 0 | 0"));
    }
}
