using CudaNn.Backends.Cuda;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Verification;

/// <summary>
/// One tensor of a device compared with the CPU reference: the largest absolute difference, and that
/// difference relative to the reference tensor's largest magnitude, against a stated tolerance on one of them.
/// </summary>
public sealed record ComparisonRow(string Tensor, double MaxAbsError, double MaxRelError, double Tolerance, bool AbsoluteTolerance, string Why)
{
    public bool Passed => (AbsoluteTolerance ? MaxAbsError : MaxRelError) <= Tolerance;

    /// <summary>"rel 9.3e-05" or "abs 1.0e-04".</summary>
    public string ToleranceText => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{(AbsoluteTolerance ? "abs" : "rel")} {Tolerance:0.0e+00}");
}

/// <summary>
/// From identical weights and the same batches, runs PyTorch's MNIST MLP on a device and on the CPU reference
/// backend (float32) and compares the forward pass, the loss, every gradient, one Adam step and ten training
/// steps. The tolerances follow float32 rounding (unit roundoff u = 2^-24 ≈ 6e-8): a dot product of length k
/// may differ by up to about k·u relative to its scale when the device sums in another order. The Adam step is
/// checked from identical gradients, so it tests the update alone; the ten steps are checked end to end.
/// A GPU (or the emulator) whose <see cref="GpuDevice.Precision"/> is TF32 rounds each GEMM input to 10 mantissa bits
/// (relative error up to 2^-11), so each product may be off by 2·2^-11 of its size; the GEMM rows then allow 8 times
/// that, 2^-7 ≈ 7.8e-3 of the output's scale (sums of products that partly cancel, through three layers), and the loss the same.
/// </summary>
public static class BackendComparison
{
    private const double U = 1.0 / (1 << 24);

    // Longest reduction in the MLP is 784 (fc1's inputs): 784·u ≈ 4.7e-5; doubled for the chain of three layers.
    private const double GemmTolerance = 2 * 784 * U;

    // Cross-entropy of 10 classes reduced over a batch: a few u per row, summed over 64 rows.
    private const double LossTolerance = 64 * 4 * U;

    // From identical gradients an Adam step rounds p, m, v, sqrt and the division: a few u of the weights' scale.
    private const double OneStepTolerance = 8 * U;

    // TF32: 2·2^-11 per product, times 4 for cancellation and the chain of three layers.
    private const double Tf32GemmTolerance = 8.0 / (1 << 11);

    // Adam divides each gradient by its running RMS, so an element whose gradient is near eps (1e-8) turns a
    // gradient difference of a few u into a visible share of lr in its update. Over ten steps of at most lr each,
    // allow 1% of that travel: 0.01 * 10 * lr, as an absolute bound.
    private const double TenStepTolerance = 0.01 * 10 * 1e-3;

    // TF32 rounds every gradient by about 1e-3 of its scale, which flips the sign of the smallest ones, and Adam's
    // early steps are about ±lr whatever the gradient's size: a weight can only be bounded by opposite steps, 2 lr each.
    private const double Tf32TenStepTolerance = 2 * 10 * 1e-3;

    // The loss of the next batch after ten steps is a smooth function of all the weights, so it shows what single
    // weights cannot under TF32: float32 keeps it within 1e-4 of the reference (relative), TF32 within 1e-2.
    private const double TenStepLossTolerance = 1e-4, Tf32TenStepLossTolerance = 1e-2;

    public static IReadOnlyList<ComparisonRow> Run(Device device, MnistDataSet data, int batchSize = 64, ulong seed = 1)
    {
        var rows = new List<ComparisonRow>();
        bool tf32 = device is GpuDevice { Precision: Precision.TF32 };
        double gemmTolerance = tf32 ? Tf32GemmTolerance : GemmTolerance, lossTolerance = tf32 ? Tf32GemmTolerance : LossTolerance;
        string gemms = tf32 ? "TF32 GEMMs: 2^-10 a product" : "k <= 784";
        using var reference = MlpSpec.Default.Create(new Generator(seed));
        using var model = MlpSpec.Default.Create(device: device);
        model.LoadStateDict(reference.StateDict());
        using var referenceLoader = DataLoader.FromMnist(data, batchSize);
        using var loader = DataLoader.FromMnist(data, batchSize, device: device);
        using var referenceLoss = new CrossEntropyLoss();
        using var loss = new CrossEntropyLoss();
        using var referenceOptimizer = new Adam(reference.Parameters(), lr: 1e-3);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);

        var batches = referenceLoader.Zip(loader).Take(12).GetEnumerator();
        if (!batches.MoveNext()) throw new ArgumentException("the data set has no samples");
        var ((xr, yr), (x, y)) = batches.Current;

        var logitsRef = reference.Forward(xr);
        var logits = model.Forward(x);
        rows.Add(Compare("forward: logits", logitsRef, logits, gemmTolerance, $"3 GEMMs, {gemms}"));
        rows.Add(Compare("loss", referenceLoss.Forward(logitsRef, yr), loss.Forward(logits, y), lossTolerance, tf32 ? "softmax CE of TF32 logits" : "64 rows of softmax CE"));
        rows.Add(Compare("dloss/dlogits", referenceLoss.Backward(), loss.Backward(), gemmTolerance, "softmax of the logits"));

        referenceOptimizer.ZeroGrad();
        optimizer.ZeroGrad();
        reference.Backward(referenceLoss.Backward());
        model.Backward(loss.Backward());
        foreach (var ((name, pr), (_, p)) in reference.NamedParameters().Zip(model.NamedParameters()))
            rows.Add(Compare($"grad {name}", pr.Grad, p.Grad, gemmTolerance, $"backward GEMMs, {gemms}"));

        foreach (var ((_, pr), (_, p)) in reference.NamedParameters().Zip(model.NamedParameters()))
            p.Grad.CopyFrom<float>(pr.Grad.ToArray<float>());
        referenceOptimizer.Step();
        optimizer.Step();
        foreach (var ((name, pr), (_, p)) in reference.NamedParameters().Zip(model.NamedParameters()))
            rows.Add(Compare($"adam step 1: {name}", pr.Value, p.Value, OneStepTolerance, "same gradients; a few roundings"));

        for (int step = 2; step <= 10 && batches.MoveNext(); step++)
        {
            ((xr, yr), (x, y)) = batches.Current;
            TrainStep(reference, referenceLoss, referenceOptimizer, xr, yr);
            TrainStep(model, loss, optimizer, x, y);
        }
        foreach (var ((name, pr), (_, p)) in reference.NamedParameters().Zip(model.NamedParameters()))
            rows.Add(Compare($"after 10 steps: {name}", pr.Value, p.Value, tf32 ? Tf32TenStepTolerance : TenStepTolerance,
                tf32 ? "opposite Adam steps, 2 lr x 10" : "1% of 10 steps of lr", absolute: true));
        if (batches.MoveNext())
        {
            ((xr, yr), (x, y)) = batches.Current;
            rows.Add(Compare("after 10 steps: next loss", referenceLoss.Forward(reference.Forward(xr), yr), loss.Forward(model.Forward(x), y),
                tf32 ? Tf32TenStepLossTolerance : TenStepLossTolerance, "the loss of batch 11, smooth in all the weights"));
        }
        return rows;
    }

    private static void TrainStep(Module model, CrossEntropyLoss loss, Optimizer optimizer, Tensor x, Tensor y)
    {
        optimizer.ZeroGrad();
        loss.Forward(model.Forward(x), y);
        model.Backward(loss.Backward());
        optimizer.Step();
    }

    private static ComparisonRow Compare(string name, Tensor reference, Tensor actual, double tolerance, string why, bool absolute = false)
    {
        var r = reference.ToArray<float>();
        var a = actual.ToArray<float>();
        double maxAbs = 0, scale = 0;
        for (int i = 0; i < r.Length; i++)
        {
            double diff = Math.Abs((double)a[i] - r[i]);
            maxAbs = Math.Max(maxAbs, double.IsNaN(diff) ? double.PositiveInfinity : diff);
            scale = Math.Max(scale, Math.Abs((double)r[i]));
        }
        return new ComparisonRow(name, maxAbs, scale == 0 ? maxAbs : maxAbs / scale, tolerance, absolute, why);
    }
}
