using System.Numerics;
using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// A cuBLASLt handle bound to one context, for float GEMMs whose result passes through an epilogue in the same kernel
/// (<see cref="GemmEpilogue"/>: a bias, a ReLU with its mask, ReLU's backward, a bias gradient). Column-major, with
/// cuBLAS's argument conventions. Each distinct GEMM is planned on its first call: its descriptors and the algorithm
/// cuBLASLt's heuristic picks are kept until <see cref="Dispose"/>, so the calls of later training steps, captured or
/// not, only set pointers and enqueue.
/// </summary>
internal sealed unsafe class CublasLtHandle : IDisposable
{
    private readonly CublasLtSafeHandle handle;
    private readonly Dictionary<PlanKey, Plan> plans = [];

    /// <summary>Throws <see cref="CudaUnavailableException"/> with the reason when libcublasLt could not be loaded.</summary>
    public CublasLtHandle(CudaContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        NativeLibraryStatus library = LibraryStatus;
        if (!library.IsLoaded)
            throw new CudaUnavailableException(library.FailureReason!);
        context.MakeCurrent();
        handle = new CublasLtSafeHandle(context);
        Check(CublasLt.cublasLtCreate(out nint raw));
        handle.Attach(raw);
    }

    /// <summary>Where libcublasLt was loaded from (the copy cuBLAS loaded, wherever cuBLAS loads), or why not.</summary>
    public static NativeLibraryStatus LibraryStatus => NativeLibraryResolver.Load(LibraryNames.CublasLt);

    /// <summary>The loaded library's version (cublasLtGetVersion's 120604 is 12.6.4); throws <see cref="CudaUnavailableException"/> when not loaded.</summary>
    public static Version LibraryVersion
    {
        get
        {
            NativeLibraryStatus library = LibraryStatus;
            if (!library.IsLoaded)
                throw new CudaUnavailableException(library.FailureReason!);
            long version = (long)CublasLt.cublasLtGetVersion();
            return new Version((int)(version / 10000), (int)(version / 100 % 100), (int)(version % 100));
        }
    }

    /// <summary>How many distinct GEMMs have been planned (each ran the heuristic once).</summary>
    internal int PlanCount => plans.Count;

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
    /// C = epilogue(alpha·op(A)·op(B) + beta·C) on <paramref name="stream"/>, column-major: op(A) m×k, op(B) k×n, C m×n, with
    /// <paramref name="epilogue"/> as <see cref="GemmEpilogue"/> defines it. <paramref name="bias"/> is read or written by
    /// every epilogue but None; <paramref name="reluMask"/>, <paramref name="reluMaskLd"/> bits per column, only by the ReLU
    /// ones. cuBLASLt may use up to <paramref name="workspaceBytes"/> at <paramref name="workspace"/>, which must not be in
    /// use by another stream meanwhile.
    /// </summary>
    public void Matmul(CudaStream stream, GemmOp transA, GemmOp transB, int m, int n, int k,
        float alpha, DevicePtr a, int lda, DevicePtr b, int ldb, float beta, DevicePtr c, int ldc,
        GemmEpilogue epilogue, DevicePtr bias, DevicePtr reluMask, int reluMaskLd,
        Precision precision, DevicePtr workspace, long workspaceBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        GemmArguments.Validate(transA, transB, m, n, k, lda, ldb, ldc);
        GemmEpilogueArguments.Validate(epilogue, m, n, bias, reluMask, reluMaskLd);
        if (!Enum.IsDefined(precision))
            throw new ArgumentException($"Unknown GEMM precision ({(int)precision}).", nameof(precision));
        ArgumentOutOfRangeException.ThrowIfNegative(workspaceBytes);
        nint raw = Raw;
        // Nothing to compute or write, as on the emulator (which then skips the epilogue too).
        if (m == 0 || n == 0)
            return;

        bool usesMask = GemmEpilogueArguments.UsesReluMask(epilogue);
        var alignment = new OperandAlignment(Alignment(a), Alignment(b), Alignment(c),
            epilogue == GemmEpilogue.None ? 0 : Alignment(bias), usesMask ? Alignment(reluMask) : 0);
        var key = new PlanKey(transA, transB, m, n, k, lda, ldb, ldc, epilogue, precision,
            usesMask ? reluMaskLd : 0, workspaceBytes, alignment);

        if (plans.TryGetValue(key, out Plan? plan))
            SetPointers(plan.Operation, epilogue, bias, reluMask);
        else
            plans.Add(key, plan = CreatePlan(raw, key, bias, reluMask));

        fixed (CublasLtMatmulAlgo* algorithm = &plan.Algorithm)
            Check(CublasLt.cublasLtMatmul(raw, plan.Operation, &alpha, a.Address, plan.A, b.Address, plan.B, &beta,
                c.Address, plan.C, c.Address, plan.C, algorithm, workspace.Address, (nuint)workspaceBytes, stream.Handle),
                $"{Describe(key)}");
    }

    /// <summary>The cublasLtEpilogue_t that computes <paramref name="epilogue"/>.</summary>
    internal static CublasLtEpilogue ToCublasLtEpilogue(GemmEpilogue epilogue) => epilogue switch
    {
        GemmEpilogue.None => CublasLtEpilogue.CUBLASLT_EPILOGUE_DEFAULT,
        GemmEpilogue.Bias => CublasLtEpilogue.CUBLASLT_EPILOGUE_BIAS,
        GemmEpilogue.ReluBias => CublasLtEpilogue.CUBLASLT_EPILOGUE_RELU_AUX_BIAS,
        GemmEpilogue.ReluBackwardBiasGrad => CublasLtEpilogue.CUBLASLT_EPILOGUE_DRELU_BGRAD,
        GemmEpilogue.BiasGradFromB => CublasLtEpilogue.CUBLASLT_EPILOGUE_BGRADB,
        _ => throw new ArgumentOutOfRangeException(nameof(epilogue), epilogue, "unknown GEMM epilogue"),
    };

    /// <summary>The compute type of <paramref name="precision"/>: float data and accumulation, inputs down-converted or not.</summary>
    internal static CublasComputeType ToComputeType(Precision precision) => precision switch
    {
        Precision.FP32 => CublasComputeType.CUBLAS_COMPUTE_32F,
        Precision.TF32 => CublasComputeType.CUBLAS_COMPUTE_32F_FAST_TF32,
        Precision.BF16 => CublasComputeType.CUBLAS_COMPUTE_32F_FAST_16BF,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown GEMM precision"),
    };

    private static Plan CreatePlan(nint raw, PlanKey key, DevicePtr bias, DevicePtr reluMask)
    {
        var plan = new Plan();
        nint preference = 0;
        try
        {
            Check(CublasLt.cublasLtMatmulDescCreate(out nint operation, ToComputeType(key.Precision), CudaDataType.CUDA_R_32F));
            plan.Operation = operation;
            SetAttribute(operation, CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_TRANSA, (int)key.TransA);
            SetAttribute(operation, CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_TRANSB, (int)key.TransB);
            SetAttribute(operation, CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_EPILOGUE, (uint)ToCublasLtEpilogue(key.Epilogue));
            if (GemmEpilogueArguments.UsesReluMask(key.Epilogue))
                SetAttribute(operation, CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, (long)key.ReluMaskLd);
            // The heuristic reads the bias and mask pointers for their alignment, so they are set before it runs.
            SetPointers(operation, key.Epilogue, bias, reluMask);

            bool plainA = key.TransA == GemmOp.None, plainB = key.TransB == GemmOp.None;
            plan.A = Layout(plainA ? key.M : key.K, plainA ? key.K : key.M, key.Lda);
            plan.B = Layout(plainB ? key.K : key.N, plainB ? key.N : key.K, key.Ldb);
            plan.C = Layout(key.M, key.N, key.Ldc);

            Check(CublasLt.cublasLtMatmulPreferenceCreate(out preference));
            SetPreference(preference, CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, (ulong)key.WorkspaceBytes);
            // A, B and C are not shown to the heuristic, only their alignment: it must not pick a kernel that needs more.
            SetPreference(preference, CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, (uint)key.Alignment.A);
            SetPreference(preference, CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, (uint)key.Alignment.B);
            SetPreference(preference, CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, (uint)key.Alignment.C);
            SetPreference(preference, CublasLtMatmulPreferenceAttribute.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, (uint)key.Alignment.C);

            CublasLtMatmulHeuristicResult result = default;
            CublasStatus status = CublasLt.cublasLtMatmulAlgoGetHeuristic(raw, plan.Operation, plan.A, plan.B, plan.C, plan.C,
                preference, 1, &result, out int found);
            bool noAlgorithm = status == CublasStatus.CUBLAS_STATUS_SUCCESS
                && (found == 0 || result.State != CublasStatus.CUBLAS_STATUS_SUCCESS);
            if (noAlgorithm || status == CublasStatus.CUBLAS_STATUS_NOT_SUPPORTED)
                throw NoKernel(key);
            if (status != CublasStatus.CUBLAS_STATUS_SUCCESS)
                throw Error(status, nameof(CublasLt.cublasLtMatmulAlgoGetHeuristic), Describe(key));
            plan.Algorithm = result.Algo;
            return plan;
        }
        catch
        {
            plan.Destroy();
            throw;
        }
        finally
        {
            if (preference != 0)
                CublasLt.cublasLtMatmulPreferenceDestroy(preference);
        }
    }

    // Pointers are host-side attributes of the descriptor, cheap to set at every call; cublasLtMatmul reads them when it
    // enqueues, so a captured graph keeps those of its capture.
    private static void SetPointers(nint operation, GemmEpilogue epilogue, DevicePtr bias, DevicePtr reluMask)
    {
        if (epilogue == GemmEpilogue.None)
            return;
        SetAttribute(operation, CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias.Address);
        if (GemmEpilogueArguments.UsesReluMask(epilogue))
            SetAttribute(operation, CublasLtMatmulDescAttribute.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, reluMask.Address);
    }

    // cuBLASLt checks the size against the attribute's C type, so T must be exactly that type.
    private static void SetAttribute<T>(nint operation, CublasLtMatmulDescAttribute attribute, T value) where T : unmanaged =>
        Check(CublasLt.cublasLtMatmulDescSetAttribute(operation, attribute, &value, (nuint)sizeof(T)), $"setting {attribute}");

    private static void SetPreference<T>(nint preference, CublasLtMatmulPreferenceAttribute attribute, T value) where T : unmanaged =>
        Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, (nuint)sizeof(T)), $"setting {attribute}");

    private static nint Layout(int rows, int cols, int ld)
    {
        Check(CublasLt.cublasLtMatrixLayoutCreate(out nint layout, CudaDataType.CUDA_R_32F, (ulong)rows, (ulong)cols, ld),
            $"for a {rows}×{cols} matrix with ld={ld}");
        return layout;
    }

    // The largest power of two dividing the address, capped at the 256 bytes beyond which no cuBLASLt kernel asks more.
    private static int Alignment(DevicePtr pointer) =>
        pointer.IsNull ? 256 : (int)Math.Min(256UL, 1UL << BitOperations.TrailingZeroCount(pointer.Address));

    private static CudaException NoKernel(PlanKey key) => NoKernel(Describe(key));

    /// <summary>The error for a GEMM cuBLASLt has no kernel for (its heuristic found none): <see cref="IsNoKernel"/> knows it.</summary>
    internal static CudaException NoKernel(string detail) =>
        new(nameof(CublasLt.cublasLtMatmulAlgoGetHeuristic), (int)CublasStatus.CUBLAS_STATUS_NOT_SUPPORTED,
            nameof(CublasStatus.CUBLAS_STATUS_NOT_SUPPORTED), "cuBLASLt has no kernel for this GEMM on this device", detail);

    /// <summary>
    /// Whether <paramref name="error"/> says cuBLASLt has no kernel for a GEMM: nothing was enqueued, and the plain GEMM
    /// and kernels can do its work instead.
    /// </summary>
    internal static bool IsNoKernel(CudaException error) =>
        error.ApiName == nameof(CublasLt.cublasLtMatmulAlgoGetHeuristic) && error.StatusCode == (int)CublasStatus.CUBLAS_STATUS_NOT_SUPPORTED;

    private static string Describe(PlanKey key) =>
        $"for the {key.Epilogue} epilogue at {key.Precision} precision, m={key.M}, n={key.N}, k={key.K} " +
        $"(transA={key.TransA}, transB={key.TransB}, lda={key.Lda}, ldb={key.Ldb}, ldc={key.Ldc})";

    public void Dispose()
    {
        foreach (Plan plan in plans.Values)
            plan.Destroy();
        plans.Clear();
        handle.Dispose();
    }

    /// <summary>
    /// Everything that makes one GEMM distinct to cuBLASLt. The operands' alignments are part of it because the chosen
    /// kernel may rely on them; a training step passes the same buffers each time, so it still plans once.
    /// </summary>
    private readonly record struct PlanKey(GemmOp TransA, GemmOp TransB, int M, int N, int K, int Lda, int Ldb, int Ldc,
        GemmEpilogue Epilogue, Precision Precision, int ReluMaskLd, long WorkspaceBytes, OperandAlignment Alignment);

    /// <summary>Alignments in bytes (up to 256); zero for an operand the epilogue does not use.</summary>
    private readonly record struct OperandAlignment(int A, int B, int C, int Bias, int ReluMask);

    /// <summary>One GEMM's matmul descriptor, its A, B and C layouts (C's is D's too) and its algorithm.</summary>
    private sealed class Plan
    {
        public nint Operation, A, B, C;
        public CublasLtMatmulAlgo Algorithm;

        // Host-side objects, tied to no context; a failed destroy would only leak a few bytes, so it is not reported.
        public void Destroy()
        {
            if (C != 0) CublasLt.cublasLtMatrixLayoutDestroy(C);
            if (B != 0) CublasLt.cublasLtMatrixLayoutDestroy(B);
            if (A != 0) CublasLt.cublasLtMatrixLayoutDestroy(A);
            if (Operation != 0) CublasLt.cublasLtMatmulDescDestroy(Operation);
            Operation = A = B = C = 0;
        }
    }
}
