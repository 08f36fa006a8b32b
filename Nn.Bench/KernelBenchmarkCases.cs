using CudaNn.Backends;
using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Bench;

/// <summary>One kernel at one size: its buffers (bytes each), what to put in them, the launch, and the bytes it must move.</summary>
internal sealed record KernelBenchmarkCase(string Name, long Bytes, long[] Buffers, Action<DevicePtr[]>? Setup, Action<DevicePtr[]> Launch)
{
    private const int Cols = 1024;       // bias epilogue and gradient: a wide hidden layer
    private const int Classes = 10;      // softmax: MNIST's classes, n rows
    private const int Features = 784;    // gather: MNIST images

    public static IEnumerable<KernelBenchmarkCase> All(IComputeDevice device, DeviceKernels k, IDeviceStream s, long n)
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

        yield return new("fill", 4 * n, [f], null, b => k.Fill(s, b[0], n, 0.5f));
        yield return new("axpy", 12 * n, [f, f], null, b => k.Axpy(s, b[0], b[1], n, 0.5f));
        yield return new("copy", 8 * n, [f, f], null, b => k.Copy(s, b[0], b[1], n));
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
