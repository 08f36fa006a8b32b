using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    /// <summary>y[n] = max(x, 0) (relu_forward); x and y may be the same buffer.</summary>
    public void ReluForward(IDeviceStream stream, DevicePtr x, DevicePtr y, long n) => Forward(stream, KernelNames.ReluForward, x, y, n);

    /// <summary>dx[n] = dy * (y &gt; 0), from the forward's output y (relu_backward).</summary>
    public void ReluBackward(IDeviceStream stream, DevicePtr y, DevicePtr dy, DevicePtr dx, long n) =>
        Backward(stream, KernelNames.ReluBackward, y, dy, dx, n);

    /// <summary>y[n] = 1 / (1 + exp(-x)) (sigmoid_forward).</summary>
    public void SigmoidForward(IDeviceStream stream, DevicePtr x, DevicePtr y, long n) => Forward(stream, KernelNames.SigmoidForward, x, y, n);

    /// <summary>dx[n] = dy * y * (1 - y) (sigmoid_backward).</summary>
    public void SigmoidBackward(IDeviceStream stream, DevicePtr y, DevicePtr dy, DevicePtr dx, long n) =>
        Backward(stream, KernelNames.SigmoidBackward, y, dy, dx, n);

    /// <summary>y[n] = tanh(x) (tanh_forward).</summary>
    public void TanhForward(IDeviceStream stream, DevicePtr x, DevicePtr y, long n) => Forward(stream, KernelNames.TanhForward, x, y, n);

    /// <summary>dx[n] = dy * (1 - y^2) (tanh_backward).</summary>
    public void TanhBackward(IDeviceStream stream, DevicePtr y, DevicePtr dy, DevicePtr dx, long n) =>
        Backward(stream, KernelNames.TanhBackward, y, dy, dx, n);

    /// <summary>y[n] = x Φ(x), Φ the standard normal CDF (gelu_forward).</summary>
    public void GeluForward(IDeviceStream stream, DevicePtr x, DevicePtr y, long n) => Forward(stream, KernelNames.GeluForward, x, y, n);

    /// <summary>dx[n] = dy * (Φ(x) + x φ(x)), from the forward's INPUT x (gelu_backward).</summary>
    public void GeluBackward(IDeviceStream stream, DevicePtr x, DevicePtr dy, DevicePtr dx, long n) =>
        Backward(stream, KernelNames.GeluBackward, x, dy, dx, n);

    /// <summary>y[n] = x / (1 + exp(-x)) (silu_forward).</summary>
    public void SiluForward(IDeviceStream stream, DevicePtr x, DevicePtr y, long n) => Forward(stream, KernelNames.SiluForward, x, y, n);

    /// <summary>dx[n] = dy * s (1 + x (1 - s)), s = sigmoid(x), from the forward's INPUT x (silu_backward).</summary>
    public void SiluBackward(IDeviceStream stream, DevicePtr x, DevicePtr dy, DevicePtr dx, long n) =>
        Backward(stream, KernelNames.SiluBackward, x, dy, dx, n);

    /// <summary>
    /// y[rows, cols] = act(y + bias[cols]) in place, the epilogue after a GEMM (bias_activation_forward);
    /// <paramref name="bias"/> may be <see cref="DevicePtr.Null"/> for act(y).
    /// </summary>
    public void BiasActivationForward(IDeviceStream stream, DevicePtr y, DevicePtr bias, int rows, int cols, KernelActivation activation)
    {
        CheckStream(stream);
        CheckCount(rows, nameof(rows));
        CheckCount(cols, nameof(cols));
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        long n = (long)rows * cols;
        if (n == 0)
            return;
        CheckBuffer(y, nameof(y));
        CheckOptionalBuffer(bias, nameof(bias));
        Launch(stream, KernelNames.BiasActivationForward, ElementGrid(n), Arguments().Add(y).Add(bias).Add(rows).Add(cols).Add((int)activation));
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
    /// dy · act'(y) (what <see cref="ReluBackward"/> and its kin write, bit for bit) and that is summed: an activation's
    /// backward and the bias gradient below it in one pass. Only activations whose slope comes from y: identity, ReLU,
    /// sigmoid, tanh. With <paramref name="accumulate"/> false the sums are written over dbias instead of added (a
    /// gradient cleared by zero_grad).
    /// </summary>
    public void BiasGrad(IDeviceStream stream, DevicePtr dy, DevicePtr dbias, int rows, int cols, DevicePtr workspace,
        DevicePtr saved = default, KernelActivation activation = KernelActivation.Identity, bool accumulate = true)
    {
        CheckStream(stream);
        long workspaceBytes = BiasGradWorkspaceBytes(rows, cols);
        if (activation is not (KernelActivation.Identity or KernelActivation.ReLU or KernelActivation.Sigmoid or KernelActivation.Tanh))
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
            Arguments().Add(dy).Add(dbias).Add(workspace).Add(rows).Add(cols).Add(rowsPerChunk).Add(saved).Add((int)activation).Add(accumulate ? 1 : 0));
        if (chunks > 1)
            Launch(stream, KernelNames.BiasGradFinish, GridFor(cols), Arguments().Add(workspace).Add(dbias).Add(chunks).Add(cols).Add(accumulate ? 1 : 0));
    }

    // At least 256 rows per block (32 per warp) so each block streams enough; at most 65535 chunks (grid y).
    private static (int RowsPerChunk, int Chunks) BiasGradChunks(int rows)
    {
        int rowsPerChunk = Math.Max(256, (int)(((long)rows + 65534) / 65535));
        return (rowsPerChunk, (int)(((long)rows + rowsPerChunk - 1) / rowsPerChunk));
    }

    private void Forward(IDeviceStream stream, string kernel, DevicePtr x, DevicePtr y, long n)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        if (n == 0)
            return;
        CheckBuffer(x, nameof(x));
        CheckBuffer(y, nameof(y));
        Launch(stream, kernel, ElementGrid(n), Arguments().Add(x).Add(y).Add(n));
    }

    /// <summary>An activation backward: <paramref name="saved"/> is the forward's output y, or its input x for GELU and SiLU.</summary>
    private void Backward(IDeviceStream stream, string kernel, DevicePtr saved, DevicePtr dy, DevicePtr dx, long n)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        if (n == 0)
            return;
        CheckBuffer(saved, nameof(saved));
        CheckBuffer(dy, nameof(dy));
        CheckBuffer(dx, nameof(dx));
        Launch(stream, kernel, ElementGrid(n), Arguments().Add(saved).Add(dy).Add(dx).Add(n));
    }
}
