using System.Numerics;
using System.Numerics.Tensors;
using CudaNn.Backends.Reference;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// The fast CPU backend of <see cref="Device.Cpu"/>: <see cref="ReferenceBackend{T}"/> with the operations a training
/// step spends its time in replaced by packed, multi-threaded GEMMs and SIMD loops. Its results do not depend on the
/// number of threads, and the tests check each replaced operation against the reference.
/// </summary>
internal sealed partial class CpuBackend<T> : ReferenceBackend<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static new CpuBackend<T> Instance { get; } = new();

    private CpuBackend() { }

    public override Device Device => Device.Cpu;

    public override void Gemm(bool transA, bool transB, double alpha, Tensor a, Tensor b, double beta, Tensor c)
    {
        var (m, n, k) = BackendChecks.Gemm(this, transA, transB, a, b, c);
        CpuGemm.Gemm(transA, transB, m, n, k, Of(alpha), a.Span<T>(), a.Shape[1], b.Span<T>(), b.Shape[1], Of(beta), c.Span<T>(), n);
    }
}
