using CudaNn.Backends;
using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Benchmarks;

/// <summary>
/// One kernel of kernels.cu (or the few launches one operation takes) at one size: its buffers (bytes each), what to put
/// in them, the launch, and the bytes it must move: each input read once and each output written once, as the kernel's
/// comment in kernels.cu states. Together the cases launch every kernel of kernels.cu.
/// </summary>
internal sealed record KernelCase(string Name, long Bytes, long[] Buffers, Action<DevicePtr[]>? Setup, Action<DevicePtr[]> Launch)
{
    private const int Cols = 1024;       // bias epilogue and gradient: a wide hidden layer
    private const int Classes = 10;      // softmax: MNIST's classes, n rows
    private const int Features = 784;    // gather: MNIST images

    public static IEnumerable<KernelCase> All(IComputeDevice device, DeviceKernels k, IDeviceStream s, long n)
    {
        long f = 4 * n;
        foreach (var activation in Activation.Nonlinear)
        {
            var act = activation.Kernel;
            yield return new($"activation_fwd/{activation.Name}", 8 * n, [f, f], null, b => k.ActivationForward(s, act, b[0], b[1], n));
            yield return new($"activation_bwd/{activation.Name}", 12 * n, [f, f, f], null, b => k.ActivationBackward(s, act, b[0], b[1], b[2], n));
        }

        int rows = (int)(n / Cols);
        yield return new($"bias_activation_fwd/{Cols}", 8L * rows * Cols, [f, 4 * Cols], null,
            b => k.BiasActivationForward(s, b[0], b[1], rows, Cols, Activation.ReLU.Kernel));
        yield return new($"bias_grad/{Cols}", 4L * rows * Cols, [f, 4 * Cols, DeviceKernels.BiasGradWorkspaceBytes(rows, Cols)], null,
            b => k.BiasGrad(s, b[0], b[1], rows, Cols, b[2]));
        // The output layer's: 10 columns of many rows, summed in chunks of rows and then finished (bias_grad_finish).
        int tallRows = (int)Math.Min(n / Classes, int.MaxValue);
        yield return new($"bias_grad/{Classes}", 4L * tallRows * Classes, [4L * tallRows * Classes, 4 * Classes, DeviceKernels.BiasGradWorkspaceBytes(tallRows, Classes)], null,
            b => k.BiasGrad(s, b[0], b[1], tallRows, Classes, b[2]));

        // A ReLU layer's 1-bit mask as cuBLASLt's ReLU-aux epilogue keeps it: written from y, applied to dz.
        long maskBytes = (long)rows * Cols / 8;
        yield return new($"relu_mask_write/{Cols}", 4L * rows * Cols + maskBytes, [f, maskBytes], null,
            b => k.ReluMaskWrite(s, b[0], b[1], rows, Cols, Cols));
        yield return new($"relu_mask_apply/{Cols}", 8L * rows * Cols + maskBytes, [f, maskBytes], null,
            b => k.ReluMaskApply(s, b[0], b[1], rows, Cols, Cols));

        // Layer norm over rows of Cols features: read x twice (the second from cache) and write y; weight and bias.
        yield return new($"layer_norm_fwd/{Cols}", 8L * rows * Cols, [f, 4 * Cols, 4 * Cols, f, 4L * rows, 4L * rows], null,
            b => k.LayerNormForward(s, b[0], b[1], b[2], b[3], b[4], b[5], rows, Cols, 1e-5f));
        yield return new($"layer_norm_bwd/{Cols}", 16L * rows * Cols, [f, 4 * Cols, 4L * rows, 4L * rows, f, f, f],
            b => { device.Memset32(s, b[2], 0, rows); device.Memset32(s, b[3], 0x3F800000, rows); },
            b => k.LayerNormBackward(s, b[0], b[1], b[2], b[3], b[4], b[5], b[6], rows, Cols));

        // n rows of 10 classes: logits and dlogits 40n bytes each, labels 4n (all 0).
        int sceRows = (int)Math.Min(n, int.MaxValue);
        yield return new($"softmax_xent/{Classes} (rows)", 84L * sceRows, [40L * sceRows, 4L * sceRows, 40L * sceRows, 4, 4,
                DeviceKernels.SoftmaxCrossEntropyWorkspaceBytes(sceRows)],
            b => device.Memset(s, b[1], 0, 4L * sceRows),
            b => k.SoftmaxCrossEntropy(s, b[0], b[1], b[2], b[3], b[4], sceRows, Classes, b[5]));
        yield return new("mse_loss", 12 * n, [f, f, f, 4, DeviceKernels.MseLossWorkspaceBytes(n)], null,
            b => k.MseLoss(s, b[0], b[1], b[2], b[3], n, b[4]));

        double[] adam = new AdamHyperparameters(1e-3, 0.9, 0.999, 1e-8, 0.01, Decoupled: true).DeviceValues();
        yield return new("adam_step", 28 * n, [f, f, f, f, 4, 8 * adam.Length, 4],
            b => { device.Memset32(s, b[4], 1, 1); device.Upload<double>(b[5], adam); device.Memset32(s, b[6], 0, 1); },
            b => k.AdamStep(s, b[0], b[1], b[2], b[3], n, b[5], decoupled: true, b[4], b[6]));
        double[] sgd = new SgdHyperparameters(1e-2, 0.9, 0, Nesterov: true, 1e-4).DeviceValues();
        yield return new("sgd_step (momentum)", 20 * n, [f, f, f, 4, 8 * sgd.Length, 4],
            b => { device.Memset32(s, b[3], 1, 1); device.Upload<double>(b[4], sgd); device.Memset32(s, b[5], 0, 1); },
            b => k.SgdStep(s, b[0], b[1], b[2], n, b[4], b[3], b[5]));

        // clip_grad_norm_ over one flat gradient buffer: read it for the norm, then read and write it to scale.
        long partials = DeviceKernels.SumSquaresPartials(n);
        yield return new("clip_grad_norm (3 kernels)", 12 * n, [f, 8 * (partials + 1), 4], null, b =>
        {
            k.SumSquares(s, b[0], n, b[1].Offset(8));
            k.ClipCoefficient(s, b[1].Offset(8), (int)partials, 1e30, b[2], b[1]);
            k.ScaleBy(s, b[0], n, b[1]);
        });
        yield return new("clamp", 8 * n, [f], null, b => k.Clamp(s, b[0], n, -1f, 1f));
        // Dropout at p = 0.5: read x, write y and the noise its backward multiplies by; the generator state is 16 bytes.
        yield return new("dropout_forward", 12 * n, [f, f, f, 16, 4],
            b => { device.Memset32(s, b[3], 7, 4); device.Memset32(s, b[4], 0, 1); },
            b => k.DropoutForward(s, b[0], b[1], b[2], n, Philox.DropoutKeepBelow(0.5), 2f, b[3], b[4]));
        yield return new("multiply", 12 * n, [f, f, f], null, b => k.Multiply(s, b[0], b[1], b[2], n));

        int batch = (int)(n / Features);
        yield return new($"gather_normalize/{Features}", 5L * batch * Features, [n, batch, 4L * batch, 4L * batch * Features, 4L * batch],
            b => UploadPermutation(device, b[2], batch),
            b => k.GatherNormalize(s, b[0], b[1], b[2], b[3], b[4], batch, Features, batch, 0.1307, 0.3081));

        // A DataLoader's batch of float rows from a device-resident table, in shuffled order.
        yield return new($"gather_rows/{Features}", 8L * batch * Features, [4L * batch * Features, 4L * batch, 4L * batch * Features],
            b => UploadPermutation(device, b[1], batch),
            b => k.GatherRows(s, b[0], b[1], b[2], batch, Features, batch, 0));

        // The seed MLP's three fused kernels over n / 784 rows: the input, each layer's output (and in the backward its
        // gradient) once, the weights once.
        int mlpRows = (int)Math.Min(n / Features, int.MaxValue);
        foreach (var fused in FusedMlp(k, s, mlpRows)) yield return fused;

        yield return new("fill", 4 * n, [f], null, b => k.Fill(s, b[0], n, 0.5f));
        yield return new("axpy", 12 * n, [f, f], null, b => k.Axpy(s, b[0], b[1], n, 0.5f));
        yield return new("copy", 8 * n, [f, f], null, b => k.Copy(s, b[0], b[1], n));
    }

    /// <summary>mlp_forward, mlp_backward_data and mlp_weight_grads for 784-128-64-10 ReLU at <paramref name="rows"/> rows.</summary>
    private static IEnumerable<KernelCase> FusedMlp(DeviceKernels k, IDeviceStream s, int rows)
    {
        int[] widths = [Features, 128, 64, Classes];
        // Buffers: x, then per layer W, b, output, dz, dW, db.
        var sizes = new List<long> { 4L * rows * Features };
        for (int l = 0; l < 3; l++)
            sizes.AddRange([4L * widths[l + 1] * widths[l], 4L * widths[l + 1], 4L * rows * widths[l + 1], 4L * rows * widths[l + 1], 4L * widths[l + 1] * widths[l], 4L * widths[l + 1]]);
        long weights = 0, activations = 0;
        for (int l = 0; l < 3; l++) (weights, activations) = (weights + 4L * widths[l + 1] * (widths[l] + 1), activations + 4L * rows * widths[l + 1]);
        long input = 4L * rows * Features;
        string shape = "784-128-64-10";
        MlpLayerArgs[] Args(DevicePtr[] b) => Enumerable.Range(0, 3).Select(l => new MlpLayerArgs(b[1 + 6 * l], b[2 + 6 * l], b[3 + 6 * l], b[4 + 6 * l],
            b[5 + 6 * l], b[6 + 6 * l], widths[l], widths[l + 1], l < 2 ? Activation.ReLU.Kernel.Number : Activation.Identity.Kernel.Number, OverwriteGrads: 1)).ToArray();
        long[] buffers = [.. sizes];
        yield return new($"mlp_forward/{shape}", input + weights + activations, buffers, null, b => k.MlpForward(s, b[0], rows, Args(b)));
        // The gradient comes in as the last layer's dz; the input's gradient is not asked for.
        yield return new($"mlp_backward_data/{shape}", weights + 2 * activations, buffers, null,
            b => k.MlpBackwardData(s, b[4 + 6 * 2], default, rows, Args(b)));
        yield return new($"mlp_weight_grads/{shape}", input + 2 * activations + weights, buffers, null, b => k.MlpWeightGrads(s, b[0], rows, Args(b)));
    }

    // An epoch's shuffled order, so rows are gathered from all over the data set as in training.
    private static void UploadPermutation(IComputeDevice device, DevicePtr indices, int count)
    {
        int[] order = Enumerable.Range(0, count).ToArray();
        new Random(20240601).Shuffle(order);
        device.Synchronize();
        device.Upload<int>(indices, order);
    }
}
