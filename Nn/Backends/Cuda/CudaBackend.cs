using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Backends.Cuda;

/// <summary>
/// The backend seam on a GPU: GEMMs through cuBLAS, everything else through the kernels of kernels.cu, all
/// enqueued on the device's one stream with no host round trip. Reductions are deterministic (no atomics), so
/// the same inputs give bit-identical results run after run on a given device.
/// </summary>
internal sealed class CudaBackend : Backend, IDisposable
{
    private readonly CudaDevice _device;
    private readonly Workspace _workspace;
    private DevicePtr _blocksDone;
    private DevicePtr _labelError;
    private readonly List<(Tensor Start, long Count)> _runs = [];

    internal CudaBackend(CudaDevice device)
    {
        _device = device;
        _workspace = new Workspace(device.Compute);
    }

    public override Device Device => _device;
    public override DType DType => DType.Float32;

    /// <summary>The device's one stream, which every operation of this backend and of the plans is enqueued on.</summary>
    internal IDeviceStream Stream => _device.Stream;

    /// <summary>kernels.cu's launchers on this device.</summary>
    internal DeviceKernels Kernels => _device.Kernels;

    private DeviceKernels K => _device.Kernels;

    /// <summary>
    /// The device address of a tensor's first element. Every kernel and copy takes its addresses from here, so a
    /// graph being captured marks each storage it uses (<see cref="DeviceStorage.ForWork"/>).
    /// </summary>
    private static DevicePtr P(Tensor t)
    {
        t.ThrowIfUnusable();
        return ((DeviceStorage)t.Storage).ForWork(t.Offset);
    }

    /// <summary>The device address of an optional tensor, or null.</summary>
    private static DevicePtr PtrOrNull(Tensor? t) => t is null ? DevicePtr.Null : P(t);

    /// <summary>The device address of a tensor's first element, for a plan's own launches (see <see cref="P"/>).</summary>
    internal static DevicePtr Address(Tensor t) => P(t);

    /// <summary>The device address of an optional tensor, or null.</summary>
    internal static DevicePtr AddressOrNull(Tensor? t) => PtrOrNull(t);

    /// <summary>
    /// Row-major GEMM on column-major cuBLAS. A row-major matrix X [r, c] is, byte for byte, the column-major
    /// matrix X^T [c, r] with leading dimension c. So the row-major C = op(A) op(B) is the column-major
    /// C^T = op(B)^T op(A)^T: cuBLAS is called with A and B swapped, m and n swapped, the same transpose flags,
    /// and each leading dimension the row length of its row-major matrix.
    /// </summary>
    public override void Gemm(bool transA, bool transB, double alpha, Tensor a, Tensor b, double beta, Tensor c)
    {
        var (m, n, k) = BackendChecks.Gemm(this, transA, transB, a, b, c);
        if (m == 0 || n == 0) return;
        _device.Compute.Sgemm(Stream, transB ? GemmOp.Transpose : GemmOp.None, transA ? GemmOp.Transpose : GemmOp.None,
            n, m, k, (float)alpha, P(b), Math.Max(1, b.Shape[1]), P(a), Math.Max(1, a.Shape[1]), (float)beta, P(c), n);
    }

    /// <summary>
    /// <see cref="Gemm"/> with a cuBLASLt epilogue, the same row-major-to-column-major swap: the epilogue's "rows" i of
    /// the column-major C are the row-major c's columns, so a bias or bias gradient runs along c's last dimension.
    /// </summary>
    internal void GemmWithEpilogue(bool transA, bool transB, Tensor a, Tensor b, double beta, Tensor c, GemmEpilogue epilogue, Tensor bias, Tensor? reluMask)
    {
        var (m, n, k) = BackendChecks.Gemm(this, transA, transB, a, b, c);
        if (m == 0 || n == 0) return;
        var shape = (epilogue, transA, transB, m, n, k);
        if (!_withoutEpilogueKernel.Contains(shape))
        {
            try
            {
                _device.Compute.SgemmEpilogue(Stream, transB ? GemmOp.Transpose : GemmOp.None, transA ? GemmOp.Transpose : GemmOp.None,
                    n, m, k, 1f, P(b), Math.Max(1, b.Shape[1]), P(a), Math.Max(1, a.Shape[1]), (float)beta, P(c), n,
                    epilogue, P(bias), PtrOrNull(reluMask), GemmEpilogueArguments.ReluMaskLd(n));
                return;
            }
            catch (CudaException e) when (CublasLtHandle.IsNoKernel(e))
            {
                // cuBLASLt promises no kernel for every shape; it enqueued nothing, so the plain operations do the work.
                _withoutEpilogueKernel.Add(shape);
                Console.Error.WriteLine($"warning: {e.Message}; this GEMM takes the plain GEMM and kernels instead, from now on");
            }
        }
        PlainEpilogue(transA, transB, a, b, beta, c, epilogue, bias, reluMask);
    }

    // The GEMM shapes cuBLASLt has no epilogue kernel for on this device, found once each.
    private readonly HashSet<(GemmEpilogue, bool, bool, int, int, int)> _withoutEpilogueKernel = [];

    /// <summary>Forgets which GEMMs had no epilogue kernel, so each is tried again (tests that pretend some have none).</summary>
    internal void ForgetMissingEpilogueKernels() => _withoutEpilogueKernel.Clear();

    /// <summary>
    /// What <see cref="GemmWithEpilogue"/> computes, by the plain GEMM and kernels: the same values and the same ReLU mask
    /// (the bias gradient from B only in the layout training uses, a weight gradient's, where op(a) = aᵀ).
    /// </summary>
    private void PlainEpilogue(bool transA, bool transB, Tensor a, Tensor b, double beta, Tensor c, GemmEpilogue epilogue, Tensor bias, Tensor? reluMask)
    {
        Gemm(transA, transB, 1.0, a, b, beta, c);
        int rows = c.Shape[0], features = c.Shape[1], maskLd = GemmEpilogueArguments.ReluMaskLd(features);
        switch (epilogue)
        {
            case GemmEpilogue.Bias:
                BiasActivationForward(c, bias, Activation.Identity);
                break;
            case GemmEpilogue.ReluBias:
                BiasActivationForward(c, bias, Activation.ReLU);
                K.ReluMaskWrite(Stream, P(c), P(reluMask!), rows, features, maskLd);
                break;
            case GemmEpilogue.ReluBackwardBiasGrad:
                K.ReluMaskApply(Stream, P(c), P(reluMask!), rows, features, maskLd);
                BiasGradient(c, bias, accumulate: false);
                break;
            case GemmEpilogue.BiasGradFromB when transA:
                BiasGradient(a, bias, accumulate: false);
                break;
            default:
                throw new NotSupportedException($"{epilogue} with transA={transA} has no stand-in for a missing cuBLASLt kernel");
        }
    }

    public override void BiasActivationForward(Tensor y, Tensor? bias, Activation activation)
    {
        var (rows, cols) = BackendChecks.BiasActivation(this, y, bias);
        K.BiasActivationForward(Stream, P(y), PtrOrNull(bias), rows, cols, activation.Kernel);
    }

    public override void ActivationForward(Tensor x, Tensor y, Activation activation)
    {
        BackendChecks.Elementwise(this, nameof(ActivationForward), x, y);
        K.ActivationForward(Stream, activation.Kernel, P(x), P(y), x.Numel);
    }

    public override void ActivationBackward(Tensor saved, Tensor dy, Tensor dx, Activation activation)
    {
        BackendChecks.Elementwise(this, nameof(ActivationBackward), saved, dy, dx);
        K.ActivationBackward(Stream, activation.Kernel, P(saved), P(dy), P(dx), saved.Numel);
    }

    public override void LayerNormForward(Tensor x, Tensor? weight, Tensor? bias, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        var (rows, cols) = BackendChecks.LayerNorm(this, nameof(LayerNormForward), x, weight, bias, y, mean, rstd);
        BackendChecks.Epsilon(nameof(LayerNormForward), eps);
        K.LayerNormForward(Stream, P(x), PtrOrNull(weight), PtrOrNull(bias), P(y), P(mean), P(rstd), rows, cols, (float)eps);
    }

    private const string LayerNormSums = nameof(LayerNormBackward) + ".sums";

    /// <summary>layer_norm_backward for dx and dy·xhat (into the workspace), then bias_grad's fixed-order column sums for the weight and bias gradients.</summary>
    public override void LayerNormBackward(Tensor x, Tensor? weight, Tensor mean, Tensor rstd, Tensor dy, Tensor? dx, Tensor? dweight, Tensor? dbias)
    {
        var (rows, cols) = BackendChecks.LayerNorm(this, nameof(LayerNormBackward), x, weight, null, dy, mean, rstd, dweight, dbias);
        if (dx is not null) BackendChecks.Elementwise(this, nameof(LayerNormBackward), x, dx);
        var dyXhat = dweight is null ? DevicePtr.Null : _workspace.Get(nameof(LayerNormBackward), (long)rows * cols * sizeof(float));
        K.LayerNormBackward(Stream, P(x), PtrOrNull(weight), P(mean), P(rstd), P(dy), PtrOrNull(dx), dyXhat, rows, cols);
        var sums = _workspace.Get(LayerNormSums, DeviceKernels.BiasGradWorkspaceBytes(rows, cols));
        if (dweight is not null) K.BiasGrad(Stream, dyXhat, P(dweight), rows, cols, sums);
        if (dbias is not null) K.BiasGrad(Stream, P(dy), P(dbias), rows, cols, sums);
    }

    public override void BiasGradient(Tensor dy, Tensor dbias, bool accumulate = true)
    {
        var (rows, cols) = BackendChecks.BiasGradient(this, dy, dbias);
        var workspace = _workspace.Get(nameof(BiasGradient), DeviceKernels.BiasGradWorkspaceBytes(rows, cols));
        K.BiasGrad(Stream, P(dy), P(dbias), rows, cols, workspace, accumulate: accumulate);
    }

    /// <summary>bias_grad with the activation's slope applied on the way, one launch for both (identity, ReLU, sigmoid, tanh).</summary>
    internal override void ActivationBiasBackward(Tensor saved, Tensor dz, Tensor? dbias, Activation activation, bool accumulate = true)
    {
        if (dbias is null || !activation.Kernel.SlopeFromOutput)
        {
            base.ActivationBiasBackward(saved, dz, dbias, activation, accumulate);
            return;
        }
        BackendChecks.Elementwise(this, nameof(ActivationBiasBackward), saved, dz);
        var (rows, cols) = BackendChecks.BiasGradient(this, dz, dbias);
        var workspace = _workspace.Get(nameof(BiasGradient), DeviceKernels.BiasGradWorkspaceBytes(rows, cols));
        K.BiasGrad(Stream, P(dz), P(dbias), rows, cols, workspace,
            activation == Activation.Identity ? DevicePtr.Null : P(saved), activation.Kernel, accumulate);
    }

    public override void SoftmaxCrossEntropy(Tensor logits, Tensor labels, Tensor? dlogits, Tensor loss, Tensor? correct, Tensor? total = null)
    {
        var (n, c) = BackendChecks.SoftmaxCrossEntropy(this, logits, labels, dlogits, loss, correct, total);
        var workspace = _workspace.Get(nameof(SoftmaxCrossEntropy), DeviceKernels.SoftmaxCrossEntropyWorkspaceBytes(n));
        K.SoftmaxCrossEntropy(Stream, P(logits), P(labels), PtrOrNull(dlogits), P(loss), PtrOrNull(correct), n, c, workspace, PtrOrNull(total),
            LabelError());
    }

    public override void MseLoss(Tensor pred, Tensor target, Tensor? dpred, Tensor loss)
    {
        BackendChecks.Elementwise(this, nameof(MseLoss), pred, target, dpred);
        BackendChecks.Same(this, nameof(MseLoss), loss);
        var workspace = _workspace.Get(nameof(MseLoss), DeviceKernels.MseLossWorkspaceBytes(pred.Numel));
        K.MseLoss(Stream, P(pred), P(target), PtrOrNull(dpred), P(loss), pred.Numel, workspace);
    }

    public override void AdamStep(Tensor param, Tensor grad, Tensor m, Tensor v, Tensor step, Tensor hyperparameters, bool decoupled, Tensor? maxV = null)
    {
        BackendChecks.Elementwise(this, nameof(AdamStep), param, grad, m, v, maxV);
        BackendChecks.StepCounter(this, nameof(AdamStep), step);
        BackendChecks.Hyperparameters(this, nameof(AdamStep), hyperparameters, AdamHyperparameters.Count);
        K.AdamStep(Stream, P(param), P(grad), P(m), P(v), param.Numel, P(hyperparameters), decoupled, P(step), BlocksDone(), PtrOrNull(maxV));
    }

    /// <summary>The caller (SGD) guarantees a momentum buffer whenever the momentum it wrote is nonzero; the kernel cannot check.</summary>
    public override void SgdStep(Tensor param, Tensor grad, Tensor? momentumBuffer, Tensor step, Tensor hyperparameters)
    {
        BackendChecks.Elementwise(this, nameof(SgdStep), param, grad, momentumBuffer);
        BackendChecks.StepCounter(this, nameof(SgdStep), step);
        BackendChecks.Hyperparameters(this, nameof(SgdStep), hyperparameters, SgdHyperparameters.Count);
        K.SgdStep(Stream, P(param), P(grad), PtrOrNull(momentumBuffer), param.Numel, P(hyperparameters), P(step), BlocksDone());
    }

    /// <summary>
    /// sum_squares over each run of adjacent gradients (an optimizer's flat buffer is one run, so one launch), the
    /// coefficient from all partial sums, then scale_by over each run. Workspace: the coefficient, then the partials.
    /// </summary>
    public override void ClipGradNorm(IReadOnlyList<Tensor> grads, double maxNorm, Tensor totalNorm)
    {
        BackendChecks.ClipGradNorm(this, grads, maxNorm, totalNorm);
        var runs = ContiguousRuns(grads);
        long partials = 0;
        foreach (var (_, count) in runs) partials += DeviceKernels.SumSquaresPartials(count);
        if (partials > int.MaxValue)
            throw new ArgumentException($"ClipGradNorm: {partials} partial sums are more than one launch folds");
        var workspace = _workspace.Get(nameof(ClipGradNorm), (1 + partials) * sizeof(double));
        DevicePtr coefficient = workspace, partialSums = workspace.Offset(sizeof(double));
        long at = 0;
        foreach (var (start, count) in runs)
        {
            K.SumSquares(Stream, P(start), count, partialSums.Offset(at * sizeof(double)));
            at += DeviceKernels.SumSquaresPartials(count);
        }
        K.ClipCoefficient(Stream, partialSums, (int)partials, maxNorm, P(totalNorm), coefficient);
        foreach (var (start, count) in runs) K.ScaleBy(Stream, P(start), count, coefficient);
    }

    public override void Clamp(Tensor x, double min, double max)
    {
        BackendChecks.Clamp(this, x, min, max);
        K.Clamp(Stream, P(x), x.Numel, (float)min, (float)max);
    }

    public override void DropoutForward(Tensor x, Tensor y, Tensor noise, Tensor rngState, double p)
    {
        BackendChecks.Dropout(this, x, y, noise, rngState, p);
        K.DropoutForward(Stream, P(x), P(y), P(noise), x.Numel, Philox.DropoutKeepBelow(p), 1.0f / (float)(1.0 - p), P(rngState), BlocksDone());
    }

    public override void Multiply(Tensor x, Tensor y, Tensor z)
    {
        BackendChecks.Elementwise(this, nameof(Multiply), x, y, z);
        K.Multiply(Stream, P(x), P(y), P(z), x.Numel);
    }

    /// <summary>The tensors as runs of elements, each tensor that continues the previous one in its storage joined to it.</summary>
    private List<(Tensor Start, long Count)> ContiguousRuns(IReadOnlyList<Tensor> tensors)
    {
        // One list, reused: a training step that clips (eagerly, before its graph is captured) allocates nothing here.
        var runs = _runs;
        runs.Clear();
        foreach (var t in tensors)
        {
            t.ThrowIfUnusable();
            if (t.Numel == 0) continue;
            if (runs.Count > 0 && runs[^1] is var (start, count) && ReferenceEquals(start.Storage, t.Storage) && start.Offset + count == t.Offset)
                runs[^1] = (start, count + t.Numel);
            else
                runs.Add((t, t.Numel));
        }
        return runs;
    }

    /// <summary>
    /// The int32 in which an optimizer launch's blocks count themselves, so the last one stores the step: zeroed once
    /// here (outside any capture, at the first step), and left at zero by every launch.
    /// </summary>
    private DevicePtr BlocksDone()
    {
        if (_blocksDone.IsNull)
        {
            var pointer = _workspace.Get(nameof(BlocksDone), sizeof(int));
            _device.Compute.Memset32(Stream, pointer, 0, 1);
            _blocksDone = pointer;
        }
        return _blocksDone;
    }

    /// <summary>
    /// The four int32 where the loss kernel records the first label outside its classes (1, row, label, classes): zeroed
    /// once here, outside any capture, and read after every copy to the host (<see cref="ThrowIfALabelWasOutOfRange"/>).
    /// </summary>
    private DevicePtr LabelError()
    {
        if (_labelError.IsNull)
        {
            var pointer = _workspace.Get(nameof(LabelError), 4 * sizeof(int));
            _device.Compute.Memset32(Stream, pointer, 0, 4);
            _labelError = pointer;
        }
        return _labelError;
    }

    /// <summary>
    /// Throws once for a label the loss kernel found outside [0, classes) since the last check, naming it, its row and
    /// the class count, as the CPU backend does at once; the kernel's loss for it was NaN. Called after the device's
    /// results reached the host, so it waits for nothing that was not already finished.
    /// </summary>
    internal void ThrowIfALabelWasOutOfRange()
    {
        if (_labelError.IsNull) return;
        Span<int> error = stackalloc int[4];
        _device.Compute.CopyDeviceToHost(System.Runtime.InteropServices.MemoryMarshal.AsBytes(error), _labelError);
        if (error[0] == 0) return;
        _device.Compute.Memset32(Stream, _labelError, 0, 4);
        throw new ArgumentOutOfRangeException("labels",
            $"label {error[2]} in row {error[1]} is outside [0, {error[3]}): a cross-entropy loss on {_device.Name} read it and gave NaN");
    }

    public override void Fill(Tensor t, double value)
    {
        BackendChecks.Same(this, nameof(Fill), t);
        K.Fill(Stream, P(t), t.Numel, (float)value);
    }

    public override void Axpy(double alpha, Tensor x, Tensor y)
    {
        BackendChecks.Elementwise(this, nameof(Axpy), x, y);
        K.Axpy(Stream, P(x), P(y), x.Numel, (float)alpha);
    }

    public override void Copy(Tensor src, Tensor dst)
    {
        BackendChecks.OnDevice(this, nameof(Copy), src);
        BackendChecks.OnDevice(this, nameof(Copy), dst);
        BackendChecks.SameNumel(nameof(Copy), src, dst);
        if (src.DType != dst.DType) throw new ArgumentException($"Copy: {src} and {dst} differ in dtype");
        if (src.Numel > 0) _device.Compute.CopyDeviceToDevice(Stream, P(dst), P(src), src.Numel * src.DType.Size());
    }

    internal override void GatherNormalize(Tensor images, Tensor labels, Tensor indices, Tensor x, Tensor y, double mean, double std)
    {
        var (count, features, batch) = BackendChecks.GatherNormalize(this, images, labels, indices, x, y);
        K.GatherNormalize(Stream, P(images), P(labels), P(indices), P(x), P(y), batch, features, count, mean, std);
    }

    public override void GatherRows(Tensor source, Tensor indices, Tensor destination)
    {
        var (count, width, batch) = BackendChecks.GatherRows(this, source, indices, destination);
        uint missing = source.DType switch
        {
            DType.Float32 => BitConverter.SingleToUInt32Bits(float.NaN),
            DType.Int32 => uint.MaxValue,
            _ => throw new ArgumentException($"{nameof(GatherRows)} on a GPU takes float32 or int32 rows, not {source}"),
        };
        K.GatherRows(Stream, P(source), P(indices), P(destination), batch, width, count, missing);
    }

    public void Dispose() => _workspace.Dispose();
}
