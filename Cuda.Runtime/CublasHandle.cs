using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// A cuBLAS handle bound to one context. GEMMs are column-major with cuBLAS's argument conventions and run
/// on the stream last given to <see cref="SetStream"/> (the legacy default stream until then).
/// </summary>
internal sealed unsafe class CublasHandle : IDisposable
{
    private readonly CublasSafeHandle handle;

    public CublasHandle(CudaContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        CublasLibrary.EnsureAvailable();
        context.MakeCurrent();
        handle = new CublasSafeHandle(context);
        Check(Cublas.cublasCreate_v2(out nint raw));
        handle.Attach(raw);
    }

    /// <summary>cuBLAS's version number, e.g. 130000 for 13.0.0.</summary>
    public int Version
    {
        get
        {
            Check(Cublas.cublasGetVersion_v2(Raw, out int version));
            return version;
        }
    }

    private nint Raw
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, this);
            handle.Context.MakeCurrent();
            return handle.DangerousGetHandle();
        }
    }

    /// <summary>
    /// Makes later calls run on <paramref name="stream"/>. cuBLAS resets a user workspace when the stream changes,
    /// so set the workspace again after this (<see cref="SetWorkspace"/>).
    /// </summary>
    public void SetStream(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Check(Cublas.cublasSetStream_v2(Raw, stream.Handle));
    }

    /// <summary>
    /// Gives cuBLAS <paramref name="bytes"/> of device memory at <paramref name="workspace"/> to use instead of
    /// allocating its own: a graph captured with a user workspace holds no cuBLAS allocation of its own.
    /// </summary>
    public void SetWorkspace(DevicePtr workspace, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Check(Cublas.cublasSetWorkspace_v2(Raw, workspace.Address, (nuint)bytes));
    }

    /// <summary>TF32 tensor-op math for later GEMMs at <see cref="Precision.TF32"/>, cuBLAS's default math otherwise (BF16 GEMMs choose theirs per call).</summary>
    public void SetMathMode(Precision precision) =>
        Check(Cublas.cublasSetMathMode(Raw, precision == Precision.TF32 ? CublasMath.CUBLAS_TF32_TENSOR_OP_MATH : CublasMath.CUBLAS_DEFAULT_MATH));

    /// <summary>C = alpha·op(A)·op(B) + beta·C, column-major; op(A) m×k, op(B) k×n, C m×n.</summary>
    public void Sgemm(GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc)
    {
        GemmArguments.Validate(transA, transB, m, n, k, lda, ldb, ldc);
        Check(Cublas.cublasSgemm_v2(Raw, (CublasOperation)transA, (CublasOperation)transB, m, n, k,
            &alpha, a.Address, lda, b.Address, ldb, &beta, c.Address, ldc), $"for m={m}, n={n}, k={k}");
    }

    private const int CudaR32F = 0, GemmDefaultAlgorithm = -1;

    /// <summary>
    /// <see cref="Sgemm"/> with BF16 tensor cores (cublasGemmEx, CUBLAS_COMPUTE_32F_FAST_16BF): float data, inputs
    /// down-converted to bfloat16 (or TF32, cuBLAS's choice), float accumulation.
    /// </summary>
    public void SgemmBf16(GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc)
    {
        GemmArguments.Validate(transA, transB, m, n, k, lda, ldb, ldc);
        Check(Cublas.cublasGemmEx(Raw, (CublasOperation)transA, (CublasOperation)transB, m, n, k, &alpha, a.Address, CudaR32F, lda,
            b.Address, CudaR32F, ldb, &beta, c.Address, CudaR32F, ldc, CublasComputeType.CUBLAS_COMPUTE_32F_FAST_16BF, GemmDefaultAlgorithm),
            $"for m={m}, n={n}, k={k} (BF16)");
    }

    public void Dispose() => handle.Dispose();
}
