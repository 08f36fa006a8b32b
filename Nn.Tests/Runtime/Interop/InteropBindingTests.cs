using System.Reflection;
using System.Runtime.InteropServices;
using CudaNn.Cuda;
using CudaNn.Cuda.Interop;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Runtime.Interop;

/// <summary>Self-checks of the bindings that need no GPU: entry points exist, C values and sizes match the headers.</summary>
[Category("Gpu")]
public class InteropBindingTests
{
    [Test]
    public void EveryNvrtcEntryPoint_IsExportedByTheLoadedLibrary()
    {
        Requirements.Nvrtc();
        AssertAllExported(typeof(Nvrtc), NvrtcCompiler.Status);
    }

    [Test]
    public void EveryDriverEntryPoint_IsExportedByTheLoadedLibrary()
    {
        NativeLibraryStatus status = NativeLibraryResolver.Load(LibraryNames.Driver);
        if (!status.IsLoaded)
            Requirements.SkipOrFail(Requirements.RequireGpu, $"the driver is not available: {status.FailureReason}");
        AssertAllExported(typeof(Driver), status);
    }

    [Test]
    public void EveryCublasEntryPoint_IsExportedByTheLoadedLibrary()
    {
        if (!CublasLibrary.Status.IsLoaded)
            Requirements.SkipOrFail(Requirements.RequireGpu, $"cuBLAS is not available: {CublasLibrary.Status.FailureReason}");
        AssertAllExported(typeof(Cublas), CublasLibrary.Status);
    }

    [Test]
    public void EveryCublasLtEntryPoint_IsExportedByTheLoadedLibrary()
    {
        NativeLibraryStatus status = CublasLtHandle.LibraryStatus;
        if (!status.IsLoaded)
            Requirements.SkipOrFail(Requirements.RequireGpu, $"cuBLASLt is not available: {status.FailureReason}");
        AssertAllExported(typeof(CublasLt), status);
    }

    [Test]
    public void CublasLt_IsTheCopyCublasLoaded()
    {
        if (!CublasLibrary.Status.IsLoaded)
            Requirements.SkipOrFail(Requirements.RequireGpu, $"cuBLAS is not available: {CublasLibrary.Status.FailureReason}");
        NativeLibraryStatus status = CublasLtHandle.LibraryStatus;
        Assert.That(status.IsLoaded, Is.True, status.ToString());
        var mapped = File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? line[slash..].Trim() : "")
            .Where(path => Path.GetFileName(path).StartsWith("libcublasLt.so", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.That(mapped, Has.Count.EqualTo(1),
            $"one libcublasLt in the process (cuBLAS from {CublasLibrary.Status.LoadedFrom}, cuBLASLt from {status.LoadedFrom})");
    }

    [Test]
    public void EveryMpiEntryPointAndHandle_IsExportedByTheLoadedLibrary()
    {
        Requirements.Mpirun();
        var library = CudaNn.Distributed.MpiCommunicator.LibraryStatus;
        AssertAllExported(typeof(Mpi), library);
        Assert.That(MpiHandles.From(library.Handle), Is.Not.Null, $"{library.LoadedFrom} exports Open MPI's predefined handles");
        Assert.That(CudaNn.Distributed.MpiCommunicator.LibraryVersion, Does.StartWith("Open MPI"));
    }

    [Test]
    public void EveryNcclEntryPoint_IsExportedByTheLoadedLibrary()
    {
        var library = CudaNn.Distributed.NcclCommunicator.LibraryStatus;
        if (!library.IsLoaded) Requirements.SkipOrFail(Requirements.RequireGpu, $"NCCL is not available: {library.FailureReason}");
        AssertAllExported(typeof(Nccl), library);
        Assert.That(CudaNn.Distributed.NcclCommunicator.Version, Is.GreaterThanOrEqualTo(new Version(2, 10)), "ncclAvg needs NCCL 2.10");
    }

    [Test]
    public void EveryBindingClass_UsesOnlyCudaNnLogicalLibraryNames()
    {
        var logicalNames = LibraryNames.All.Select(s => s.LogicalName).ToHashSet();
        foreach (Type binding in new[] { typeof(Driver), typeof(Nvrtc), typeof(Cublas), typeof(CublasLt), typeof(Mpi), typeof(Nccl) })
            foreach (MethodInfo method in Imports(binding))
                Assert.That(logicalNames, Does.Contain(method.GetCustomAttribute<LibraryImportAttribute>()!.LibraryName), method.Name);
    }

    // Values copied from cuda.h / nvrtc.h / cublas_api.h / library_types.h (CUDA 12.6; unchanged 11.8 to 13.0).
    [TestCase(CuResult.CUDA_ERROR_OUT_OF_MEMORY, 2)]
    [TestCase(CuResult.CUDA_ERROR_STUB_LIBRARY, 34)]
    [TestCase(CuResult.CUDA_ERROR_NO_DEVICE, 100)]
    [TestCase(CuResult.CUDA_ERROR_INVALID_PTX, 218)]
    [TestCase(CuResult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION, 222)]
    [TestCase(CuResult.CUDA_ERROR_NOT_FOUND, 500)]
    [TestCase(CuResult.CUDA_ERROR_ILLEGAL_ADDRESS, 700)]
    [TestCase(CuResult.CUDA_ERROR_LAUNCH_FAILED, 719)]
    [TestCase(CuResult.CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, 901)]
    [TestCase(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 16)]
    [TestCase(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 75)]
    [TestCase(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 76)]
    [TestCase(CuDeviceAttribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, 97)]
    [TestCase(CuFunctionAttribute.CU_FUNC_ATTRIBUTE_NUM_REGS, 4)]
    [TestCase(CuFunctionAttribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 8)]
    [TestCase(CuJitOption.CU_JIT_ERROR_LOG_BUFFER, 5)]
    [TestCase(CuJitOption.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, 6)]
    [TestCase(CuStreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL, 1)]
    [TestCase(NvrtcResult.NVRTC_ERROR_COMPILATION, 6)]
    [TestCase(NvrtcResult.NVRTC_ERROR_INTERNAL_ERROR, 11)]
    [TestCase(CublasStatus.CUBLAS_STATUS_INVALID_VALUE, 7)]
    [TestCase(CublasStatus.CUBLAS_STATUS_EXECUTION_FAILED, 13)]
    [TestCase(CublasOperation.CUBLAS_OP_T, 1)]
    [TestCase(CublasMath.CUBLAS_TF32_TENSOR_OP_MATH, 3)]
    [TestCase(LibraryProperty.PATCH_LEVEL, 2)]
    [TestCase(CublasComputeType.CUBLAS_COMPUTE_32F, 68)]
    [TestCase(CublasComputeType.CUBLAS_COMPUTE_32F_FAST_16BF, 75)]
    [TestCase(CublasComputeType.CUBLAS_COMPUTE_32F_FAST_TF32, 77)]
    [TestCase(CudaDataType.CUDA_R_32F, 0)]
    // cublasLt.h of CUDA 12.6, the same in CUDA 11's; the epilogues' ORs spelled out.
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_DEFAULT, 1)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_RELU, 2)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_BIAS, 4)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_RELU_BIAS, 2 | 4)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_RELU_AUX, 2 | 128)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_RELU_AUX_BIAS, 2 | 128 | 4)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_DRELU, 8 | 128)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_DRELU_BGRAD, 8 | 128 | 16)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_BGRADA, 256)]
    [TestCase(CublasLtEpilogue.CUBLASLT_EPILOGUE_BGRADB, 512)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, 0)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_SCALE_TYPE, 1)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_TRANSA, 3)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_TRANSB, 4)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_EPILOGUE, 7)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_BIAS_POINTER, 8)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, 11)]
    [TestCase(CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, 12)]
    [TestCase(CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, 1)]
    [TestCase(CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, 5)]
    [TestCase(CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, 6)]
    [TestCase(CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, 7)]
    [TestCase(CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, 8)]
    [TestCase(NcclResult.ncclInvalidUsage, 5)]
    [TestCase(NcclResult.ncclInProgress, 7)]
    [TestCase(NcclResult.ncclTimeout, 8)]
    [TestCase(NcclDataType.ncclFloat32, 7)]
    [TestCase(NcclDataType.ncclFloat64, 8)]
    [TestCase(NcclDataType.ncclInt64, 4)]
    [TestCase(NcclRedOp.ncclAvg, 4)]
    [TestCase(MpiThreadLevel.MPI_THREAD_SERIALIZED, 2)]
    public void EnumValue_MatchesHeader(object value, int header)
    {
        Assert.That(Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(header));
    }

    [Test]
    public void SeamEnums_HaveCublasValues()
    {
        Assert.That((int)GemmOp.None, Is.EqualTo((int)CublasOperation.CUBLAS_OP_N));
        Assert.That((int)GemmOp.Transpose, Is.EqualTo((int)CublasOperation.CUBLAS_OP_T));
    }

    // The cuBLASLt epilogue and compute type that GemmEpilogue's and Precision's documentation name.
    [Test]
    public void GemmEpilogue_MapsToItsCublasLtEpilogue()
    {
        Assert.That(CublasLtHandle.ToCublasLtEpilogue(GemmEpilogue.None), Is.EqualTo(CublasLtEpilogue.CUBLASLT_EPILOGUE_DEFAULT));
        Assert.That(CublasLtHandle.ToCublasLtEpilogue(GemmEpilogue.Bias), Is.EqualTo(CublasLtEpilogue.CUBLASLT_EPILOGUE_BIAS));
        Assert.That(CublasLtHandle.ToCublasLtEpilogue(GemmEpilogue.ReluBias), Is.EqualTo(CublasLtEpilogue.CUBLASLT_EPILOGUE_RELU_AUX_BIAS));
        Assert.That(CublasLtHandle.ToCublasLtEpilogue(GemmEpilogue.ReluBackwardBiasGrad), Is.EqualTo(CublasLtEpilogue.CUBLASLT_EPILOGUE_DRELU_BGRAD));
        Assert.That(CublasLtHandle.ToCublasLtEpilogue(GemmEpilogue.BiasGradFromB), Is.EqualTo(CublasLtEpilogue.CUBLASLT_EPILOGUE_BGRADB));
    }

    [TestCase(Precision.FP32, CublasComputeType.CUBLAS_COMPUTE_32F)]
    [TestCase(Precision.TF32, CublasComputeType.CUBLAS_COMPUTE_32F_FAST_TF32)]
    [TestCase(Precision.BF16, CublasComputeType.CUBLAS_COMPUTE_32F_FAST_16BF)]
    public void Precision_MapsToItsComputeType(Precision precision, object expected)
    {
        Assert.That(CublasLtHandle.ToComputeType(precision), Is.EqualTo(expected));
    }

    [Test]
    public void EveryGemmEpilogueAndPrecision_HasACublasLtCounterpart()
    {
        foreach (GemmEpilogue epilogue in Enum.GetValues<GemmEpilogue>())
            Assert.That(Enum.IsDefined(CublasLtHandle.ToCublasLtEpilogue(epilogue)), Is.True, epilogue.ToString());
        foreach (Precision precision in Enum.GetValues<Precision>())
            Assert.That(Enum.IsDefined(CublasLtHandle.ToComputeType(precision)), Is.True, precision.ToString());
    }

    [Test]
    public unsafe void BlittableTypes_HaveTheirCSizes()
    {
        Assert.That(sizeof(CuResult), Is.EqualTo(4), "C enums are int");
        Assert.That(sizeof(NvrtcResult), Is.EqualTo(4));
        Assert.That(sizeof(CublasStatus), Is.EqualTo(4));
        Assert.That(sizeof(DevicePtr), Is.EqualTo(sizeof(ulong)), "a DevicePtr kernel argument must be exactly a CUdeviceptr");
        Assert.That(sizeof(nuint), Is.EqualTo(8), "size_t on x86-64 Linux");
        Assert.That(sizeof(NcclUniqueId), Is.EqualTo(128), "NCCL_UNIQUE_ID_BYTES");
        Assert.That(sizeof(CublasLtMatmulAlgo), Is.EqualTo(64), "cublasLtMatmulAlgo_t is uint64_t data[8]");
        Assert.That(sizeof(CublasLtMatmulHeuristicResult), Is.EqualTo(96), "cublasLtMatmulHeuristicResult_t");
        Assert.That((int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.WorkspaceSize)), Is.EqualTo(64));
        Assert.That((int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.State)), Is.EqualTo(72));
        Assert.That((int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.WavesCount)), Is.EqualTo(76));
        Assert.That((int)Marshal.OffsetOf<CublasLtMatmulHeuristicResult>(nameof(CublasLtMatmulHeuristicResult.Reserved)), Is.EqualTo(80));
    }

    private static IEnumerable<MethodInfo> Imports(Type binding) =>
        binding.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null);

    private static void AssertAllExported(Type binding, NativeLibraryStatus library)
    {
        var methods = Imports(binding).ToList();
        Assert.That(methods, Is.Not.Empty);
        var missing = methods
            .Select(m => m.GetCustomAttribute<LibraryImportAttribute>()!.EntryPoint ?? m.Name)
            .Where(name => !NativeLibrary.TryGetExport(library.Handle, name, out _))
            .ToList();
        TestContext.Out.WriteLine($"{methods.Count} entry points checked in {library.LoadedFrom}");
        Assert.That(missing, Is.Empty, $"not exported by {library.LoadedFrom}");
    }
}
