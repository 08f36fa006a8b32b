using CudaNn.Cuda;
using CudaNn.Cuda.Interop;

namespace CudaNn.Tests.Runtime;

public class CudaExceptionTests
{
    [Test]
    public void Message_NamesApiStatusDescriptionAndDetail()
    {
        var error = new CudaException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory",
            $"while allocating {ByteSize.Format(2L << 30)}; {ByteSize.Format(1181116006)} free of {ByteSize.Format(80L << 30)}");

        Assert.That(error.Message, Is.EqualTo(
            "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory) while allocating 2.0 GiB; 1.1 GiB free of 80.0 GiB"));
        Assert.That((error.ApiName, error.StatusCode, error.StatusName, error.Description),
            Is.EqualTo(("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory")));
    }

    [Test]
    public void Message_WithoutDetail_EndsAtTheDescription()
    {
        var error = new CudaException("cuInit", 100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected");

        Assert.That(error.Message, Is.EqualTo("cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"));
    }

    [TestCase("Driver.cuMemAlloc_v2(out ulong pointer, (nuint)bytes)", "cuMemAlloc_v2")]
    [TestCase("Nvrtc.nvrtcGetPTX(program, p)", "nvrtcGetPTX")]
    [TestCase("cuInit(0)", "cuInit")]
    [TestCase("status", "status")]
    public void ApiName_IsTheCalleeOfTheCheckedExpression(string expression, string expected)
    {
        Assert.That(CudaCheck.ApiName(expression), Is.EqualTo(expected));
    }

    [Test]
    public void CheckNvrtc_Failure_ThrowsWithNvrtcsNameAndTheCall()
    {
        if (!NvrtcCompiler.Status.IsLoaded)
            Assert.Ignore($"needs NVRTC for nvrtcGetErrorString: {NvrtcCompiler.Status.FailureReason}");

        var error = Assert.Throws<CudaException>(() => CudaCheck.Check(nvrtcRejectsOption(), "while testing"));

        Assert.That(error!.Message, Is.EqualTo("nvrtcRejectsOption failed: NVRTC_ERROR_INVALID_OPTION (invalid option) while testing"));
        Assert.That(error.StatusCode, Is.EqualTo(5));
    }

    private static NvrtcResult nvrtcRejectsOption() => NvrtcResult.NVRTC_ERROR_INVALID_OPTION;

    [Test]
    public void DriverError_NamesTheCodeWithOrWithoutLibcuda()
    {
        CudaException error = CudaCheck.Error(CuResult.CUDA_ERROR_NO_DEVICE, "cuInit");

        Assert.That(error.StatusName, Is.EqualTo("CUDA_ERROR_NO_DEVICE"));
        Assert.That(error.StatusCode, Is.EqualTo(100));
        Assert.That(error.Message, Does.StartWith("cuInit failed: CUDA_ERROR_NO_DEVICE ("));
    }

    [Test]
    public void CheckNvrtc_Success_DoesNotThrow()
    {
        Assert.That(() => CudaCheck.Check(NvrtcResult.NVRTC_SUCCESS), Throws.Nothing);
    }

    [Test]
    public void AnInterpolatedDetail_IsFormattedOnlyWhenTheCallFailed()
    {
        int formatted = 0;
        string Detail()
        {
            formatted++;
            return "m=3";
        }

        CudaCheck.Check(cublasSucceeds(), $"for {Detail()}");
        CudaCheck.Check(cuSucceeds(), $"for {Detail()}");
        Assert.That(formatted, Is.Zero, "a successful call formats no detail");

        var error = Assert.Throws<CudaException>(() => CudaCheck.Check(cublasFails(), $"for {Detail()}"))!;
        Assert.That(formatted, Is.EqualTo(1));
        Assert.That(error.Message, Does.StartWith("cublasFails failed: CUBLAS_STATUS_INVALID_VALUE").And.EndWith("for m=3"));
    }

    private static CublasStatus cublasSucceeds() => CublasStatus.CUBLAS_STATUS_SUCCESS;
    private static CublasStatus cublasFails() => CublasStatus.CUBLAS_STATUS_INVALID_VALUE;
    private static CuResult cuSucceeds() => CuResult.CUDA_SUCCESS;

    [TestCase(0, "0 B")]
    [TestCase(1023, "1023 B")]
    [TestCase(1536, "1.5 KiB")]
    [TestCase(2147483648, "2.0 GiB")]
    public void ByteSize_UsesBinaryUnitsWithOneDecimal(long bytes, string expected)
    {
        Assert.That(ByteSize.Format(bytes), Is.EqualTo(expected));
    }
}
