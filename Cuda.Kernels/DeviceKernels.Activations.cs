using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    /// <summary>y[n] = act(x) (activation_forward); x and y may be the same buffer.</summary>
    public void ActivationForward(IDeviceStream stream, KernelActivation activation, DevicePtr x, DevicePtr y, long n)
    {
        CheckActivation(activation);
        if (CheckElementwise(stream, n, (x, nameof(x)), (y, nameof(y))))
            Launch(stream, KernelNames.ActivationForward, ElementGrid(n),
                Arguments().Add(x).Add(y).Add(n).Add(activation.Number).Add(activation.Parameter));
    }

    /// <summary>
    /// dx[n] = dy * act'(x) (activation_backward), from <paramref name="saved"/>: the forward's output y, or its input x
    /// for the activations whose derivative needs it (kernels.cu's functor says which its slope takes).
    /// </summary>
    public void ActivationBackward(IDeviceStream stream, KernelActivation activation, DevicePtr saved, DevicePtr dy, DevicePtr dx, long n)
    {
        CheckActivation(activation);
        if (CheckElementwise(stream, n, (saved, nameof(saved)), (dy, nameof(dy)), (dx, nameof(dx))))
            Launch(stream, KernelNames.ActivationBackward, ElementGrid(n),
                Arguments().Add(saved).Add(dy).Add(dx).Add(n).Add(activation.Number).Add(activation.Parameter));
    }

    /// <summary>
    /// y[rows, cols] = act(y + bias[cols]) in place, the epilogue after a GEMM (bias_activation_forward);
    /// <paramref name="bias"/> may be <see cref="DevicePtr.Null"/> for act(y).
    /// </summary>
    public void BiasActivationForward(IDeviceStream stream, DevicePtr y, DevicePtr bias, int rows, int cols, KernelActivation activation)
    {
        CheckStream(stream);
        CheckCount(rows, nameof(rows));
        CheckCount(cols, nameof(cols));
        CheckActivation(activation);
        long n = (long)rows * cols;
        if (n == 0)
            return;
        CheckBuffer(y, nameof(y));
        CheckOptionalBuffer(bias, nameof(bias));
        Launch(stream, KernelNames.BiasActivationForward, ElementGrid(n), Arguments().Add(y).Add(bias).Add(rows).Add(cols).Add(activation.Number).Add(activation.Parameter));
    }

    /// <summary>Bytes of workspace <see cref="BiasGrad"/> needs for dy[rows, cols] (0 when one pass suffices).</summary>
    public static long BiasGradWorkspaceBytes(int rows, int cols)
    {
        CheckCount(rows, nameof(rows));
        CheckCount(cols, nameof(cols));
        (_, int chunks) = BiasGradChunks(rows);
        return chunks > 1 ? (long)chunks * cols * sizeof(float) : 0;
    }

    /// <summary>
    /// dbias[cols] += sum over rows of dy[rows, cols] (bias_grad, then bias_grad_finish when the rows come in several
    /// chunks), a fixed-order two-level reduction: the same inputs give the same bits every run.
    /// <paramref name="workspace"/> holds <see cref="BiasGradWorkspaceBytes"/> bytes (may be null when that is 0).
    /// With <paramref name="saved"/>, an activation's output y[rows, cols], dy is first replaced in place by
    /// dy · act'(y) (what <see cref="ActivationBackward"/> writes, bit for bit) and that is summed: an activation's
    /// backward and the bias gradient below it in one pass. Only activations whose slope comes from y: identity, ReLU,
    /// sigmoid, tanh. With <paramref name="accumulate"/> false the sums are written over dbias instead of added (a
    /// gradient cleared by zero_grad).
    /// </summary>
    public void BiasGrad(IDeviceStream stream, DevicePtr dy, DevicePtr dbias, int rows, int cols, DevicePtr workspace,
        DevicePtr saved = default, KernelActivation activation = default, bool accumulate = true)
    {
        CheckStream(stream);
        long workspaceBytes = BiasGradWorkspaceBytes(rows, cols);
        if (!activation.SlopeFromOutput)
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "bias_grad applies identity, ReLU, sigmoid or tanh, whose slope comes from the output");
        if (rows == 0 || cols == 0)
            return;
        CheckBuffer(dy, nameof(dy));
        CheckBuffer(dbias, nameof(dbias));
        if (!saved.IsNull) CheckBuffer(saved, nameof(saved));
        if (workspaceBytes > 0)
            CheckBuffer(workspace, nameof(workspace));
        (int rowsPerChunk, int chunks) = BiasGradChunks(rows);
        int tiles = (cols + 31) / 32;
        var config = new LaunchConfig(new Dim3(tiles, chunks), BlockSize);
        Launch(stream, KernelNames.BiasGrad, config,
            Arguments().Add(dy).Add(dbias).Add(workspace).Add(rows).Add(cols).Add(rowsPerChunk).Add(saved).Add(activation.Number).Add(accumulate ? 1 : 0));
        if (chunks > 1)
            Launch(stream, KernelNames.BiasGradFinish, GridFor(cols), Arguments().Add(workspace).Add(dbias).Add(chunks).Add(cols).Add(accumulate ? 1 : 0));
    }

    // At least 256 rows per block (32 per warp) so each block streams enough; at most 65535 chunks (grid y).
    private static (int RowsPerChunk, int Chunks) BiasGradChunks(int rows)
    {
        int rowsPerChunk = Math.Max(256, (int)(((long)rows + 65534) / 65535));
        return (rowsPerChunk, (int)(((long)rows + rowsPerChunk - 1) / rowsPerChunk));
    }

    private static void CheckActivation(KernelActivation activation)
    {
        if (activation.Number < 0 || !float.IsFinite(activation.Parameter))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "An activation has a number from 0 and a finite parameter.");
    }
}
