using System.Runtime.InteropServices;
using CudaNn.Cuda.Interop;

namespace CudaNn.Cuda;

/// <summary>
/// Base of every CUDA handle: released exactly once (by Dispose or, failing that, the finaliser) with its
/// context pushed. <see cref="Attach"/> takes ownership right after the creating call succeeds.
/// </summary>
internal abstract class CudaSafeHandle(CudaContext context) : SafeHandle(0, ownsHandle: true)
{
    public CudaContext Context { get; } = context;

    public override bool IsInvalid => handle == 0;

    public void Attach(nint value) => SetHandle(value);

    protected override bool ReleaseHandle() => Context.ReleaseWithContext(handle, Release);

    protected abstract bool Release(nint value);
}

internal sealed class DeviceMemoryHandle(CudaContext context) : CudaSafeHandle(context)
{
    public ulong Address => (ulong)handle;

    protected override bool Release(nint value) => Driver.cuMemFree_v2((ulong)value) == CuResult.CUDA_SUCCESS;
}

internal sealed class StreamHandle(CudaContext context) : CudaSafeHandle(context)
{
    protected override bool Release(nint value) => Driver.cuStreamDestroy_v2(value) == CuResult.CUDA_SUCCESS;
}

internal sealed class EventHandle(CudaContext context) : CudaSafeHandle(context)
{
    protected override bool Release(nint value) => Driver.cuEventDestroy_v2(value) == CuResult.CUDA_SUCCESS;
}

internal sealed class ModuleHandle(CudaContext context) : CudaSafeHandle(context)
{
    protected override bool Release(nint value) => Driver.cuModuleUnload(value) == CuResult.CUDA_SUCCESS;
}

internal sealed class GraphHandle(CudaContext context) : CudaSafeHandle(context)
{
    protected override bool Release(nint value) => Driver.cuGraphDestroy(value) == CuResult.CUDA_SUCCESS;
}

internal sealed class GraphExecHandle(CudaContext context) : CudaSafeHandle(context)
{
    protected override bool Release(nint value) => Driver.cuGraphExecDestroy(value) == CuResult.CUDA_SUCCESS;
}

internal sealed class CublasSafeHandle(CudaContext context) : CudaSafeHandle(context)
{
    protected override bool Release(nint value) => Cublas.cublasDestroy_v2(value) == CublasStatus.CUBLAS_STATUS_SUCCESS;
}

internal sealed class CublasLtSafeHandle(CudaContext context) : CudaSafeHandle(context)
{
    protected override bool Release(nint value) => CublasLt.cublasLtDestroy(value) == CublasStatus.CUBLAS_STATUS_SUCCESS;
}
