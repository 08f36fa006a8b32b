using CudaNn.Cuda;

namespace CudaNn.Kernels;

internal sealed partial class DeviceKernels
{
    // Fixed in kernels.cu: rows per softmax chunk, elements per MSE chunk, threads of the loss kernels.
    private const int SoftmaxRowsPerChunk = 256;
    private const int MseChunk = BlockSize * 16;

    /// <summary>Bytes of workspace <see cref="SoftmaxCrossEntropy"/> needs for <paramref name="rows"/> rows (8-byte aligned).</summary>
    public static long SoftmaxCrossEntropyWorkspaceBytes(int rows)
    {
        CheckCount(rows, nameof(rows));
        return SoftmaxChunks(rows) * (long)(sizeof(double) + sizeof(int));
    }

    /// <summary>
    /// Softmax cross-entropy over logits[rows, cols] with int32 labels[rows], forward and backward in one pass
    /// (softmax_cross_entropy, which also finishes the loss for up to 256 rows; loss_finish after it for more):
    /// loss[0] = mean over rows of (logsumexp(z) - z[label]); dlogits = (softmax(z) - onehot(label)) / rows unless
    /// <paramref name="dlogits"/> is null; correct[0] (int32) += rows whose first maximum is at the label unless
    /// <paramref name="correct"/> is null; total[0] += rows × loss[0] (float) unless <paramref name="total"/> is null.
    /// Sums are fixed-order (bit-identical from run to run); a label outside [0, cols) makes the loss NaN, and the
    /// first one is recorded in <paramref name="labelError"/> (four int32: 1, its row, the label, cols) unless that is
    /// null; the word at 0 must start at 0. dlogits must not overlap logits. <paramref name="workspace"/> holds <see cref="SoftmaxCrossEntropyWorkspaceBytes"/> bytes.
    /// </summary>
    public void SoftmaxCrossEntropy(IDeviceStream stream, DevicePtr logits, DevicePtr labels, DevicePtr dlogits,
        DevicePtr loss, DevicePtr correct, int rows, int cols, DevicePtr workspace, DevicePtr total = default, DevicePtr labelError = default)
    {
        CheckStream(stream);
        CheckCount(rows, nameof(rows));
        if (cols < 1)
            throw new ArgumentOutOfRangeException(nameof(cols), cols, "Softmax cross-entropy needs at least one class.");
        CheckBuffer(loss, nameof(loss));
        CheckOptionalBuffer(correct, nameof(correct));
        CheckOptionalBuffer(total, nameof(total));
        CheckOptionalBuffer(labelError, nameof(labelError));
        int chunks = SoftmaxChunks(rows);
        DevicePtr partialHits = workspace.Offset((long)chunks * sizeof(double));
        if (rows > 0)
        {
            CheckBuffer(logits, nameof(logits));
            CheckBuffer(labels, nameof(labels));
            CheckOptionalBuffer(dlogits, nameof(dlogits));
            CheckBuffer(workspace, nameof(workspace), sizeof(double));
            // A group of lanes per row: the smallest power of two covering the row, at most a warp.
            int groupSize = (int)Math.Min(32, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)cols));
            var config = new LaunchConfig(Math.Min(chunks, maxBlocks), BlockSize);
            Launch(stream, KernelNames.SoftmaxCrossEntropy, config,
                Arguments().Add(logits).Add(labels).Add(dlogits).Add(workspace).Add(partialHits).Add(rows).Add(cols).Add(groupSize)
                    .Add(loss).Add(correct).Add(total).Add(labelError));
        }
        if (chunks != 1)
            Finish(stream, workspace, rows > 0 ? partialHits : DevicePtr.Null, chunks, rows, loss, correct, total);
    }

    /// <summary>Bytes of workspace <see cref="MseLoss"/> needs for <paramref name="n"/> elements (8-byte aligned).</summary>
    public static long MseLossWorkspaceBytes(long n)
    {
        CheckCount(n, nameof(n));
        return MseChunks(n) * sizeof(double);
    }

    /// <summary>
    /// loss[0] = mean((pred - target)^2) and dpred[n] = 2 (pred - target) / n unless <paramref name="dpred"/> is null
    /// (mse_loss, then loss_finish); fixed-order sums. <paramref name="workspace"/> holds
    /// <see cref="MseLossWorkspaceBytes"/> bytes.
    /// </summary>
    public void MseLoss(IDeviceStream stream, DevicePtr pred, DevicePtr target, DevicePtr dpred, DevicePtr loss, long n, DevicePtr workspace)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        CheckBuffer(loss, nameof(loss));
        long chunks = MseChunks(n);
        if (chunks > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"MSE over {n} elements needs more than {int.MaxValue} partial sums.");
        if (n > 0)
        {
            CheckBuffer(pred, nameof(pred));
            CheckBuffer(target, nameof(target));
            CheckOptionalBuffer(dpred, nameof(dpred));
            CheckBuffer(workspace, nameof(workspace), sizeof(double));
            var config = new LaunchConfig((int)Math.Min(chunks, maxBlocks), BlockSize);
            Launch(stream, KernelNames.MseLoss, config, Arguments().Add(pred).Add(target).Add(dpred).Add(workspace).Add(n));
        }
        Finish(stream, workspace, DevicePtr.Null, (int)chunks, n, loss, DevicePtr.Null, DevicePtr.Null);
    }

    /// <summary>loss[0] = sum of the partials / count; correct[0] += the hits; total[0] += count × loss (loss_finish, one block).</summary>
    private void Finish(IDeviceStream stream, DevicePtr partialLoss, DevicePtr partialHits, int chunks, double count, DevicePtr loss,
        DevicePtr correct, DevicePtr total) =>
        Launch(stream, KernelNames.LossFinish, new LaunchConfig(1, BlockSize),
            Arguments().Add(partialLoss).Add(partialHits).Add(chunks).Add(count).Add(loss).Add(correct).Add(total));

    private static int SoftmaxChunks(int rows) => (int)(((long)rows + SoftmaxRowsPerChunk - 1) / SoftmaxRowsPerChunk);

    private static long MseChunks(long n) => (n + MseChunk - 1) / MseChunk;
}
