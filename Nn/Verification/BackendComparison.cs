using CudaNn.Backends.Cuda;
using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Verification;

/// <summary>Which of a <see cref="ComparisonRow"/>'s errors its tolerance bounds.</summary>
public enum ToleranceKind
{
    /// <summary>The largest difference relative to the reference's largest magnitude.</summary>
    Relative,

    /// <summary>The largest absolute difference.</summary>
    Absolute,

    /// <summary>‖difference‖₂ / ‖reference‖₂: for reduced-precision gradients, where a ReLU whose input rounds across zero
    /// changes single elements wholesale while the tensor as a whole keeps the precision's accuracy.</summary>
    NormRelative,
}

/// <summary>
/// One tensor of a device compared with the reference backend: the largest absolute difference, that difference relative
/// to the reference tensor's largest magnitude, and the norm of the difference relative to the reference's norm,
/// against a stated tolerance on one of them.
/// </summary>
public sealed record ComparisonRow(string Tensor, double MaxAbsError, double MaxRelError, double NormRelError, double Tolerance, ToleranceKind Kind, string Why)
{
    public bool Passed => Kind switch
    {
        ToleranceKind.Absolute => MaxAbsError,
        ToleranceKind.NormRelative => NormRelError,
        _ => MaxRelError,
    } <= Tolerance;

    /// <summary>"rel 9.3e-05", "abs 1.0e-04" or "l2 3.1e-02".</summary>
    public string ToleranceText => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Kind switch { ToleranceKind.Absolute => "abs", ToleranceKind.NormRelative => "l2", _ => "rel" }} {Tolerance:0.0e+00}");
}

/// <summary>
/// From identical weights and the same batches, runs PyTorch's MNIST MLP on a device and on
/// <see cref="Device.Reference"/> (the plain-loop oracle, float32) and compares the forward pass, the loss, every gradient, one Adam step and ten training
/// steps.
/// </summary>
/// <remarks>
/// The tolerances follow float32 rounding (unit roundoff u = 2^-24 ≈ 6e-8): a dot product of length k
/// may differ by up to about k·u relative to its scale when the device sums in another order. The Adam step is
/// checked from identical gradients, so it tests the update alone; the ten steps are checked end to end.
/// A GPU (or the emulator) whose <see cref="CudaDevice.Precision"/> is TF32 rounds each GEMM input to 10 mantissa bits
/// (relative error up to 2^-11), so each product may be off by 2·2^-11 of its size; the GEMM rows then allow 4 times
/// that, 2^-8 ≈ 3.9e-3 of the output's scale (sums of products that partly cancel, through three layers), and the loss
/// the same. BF16 rounds to 7 bits (2^-8), so its rows allow 4·2·2^-8 = 2^-5 ≈ 3.1e-2 alike. Under either, a hidden
/// unit whose pre-activation rounds across zero switches its ReLU, which changes the gradients behind it wholesale in
/// a few elements; so the gradients are bounded as tensors, by the norm of the difference over the reference's norm.
/// </remarks>
public static class BackendComparison
{
    private const double U = 1.0 / (1 << 24);

    // Longest reduction in the MLP is 784 (fc1's inputs): 784·u ≈ 4.7e-5; doubled for the chain of three layers.
    private const double GemmTolerance = 2 * 784 * U;

    // Cross-entropy of 10 classes reduced over a batch: a few u per row, summed over 64 rows.
    private const double LossTolerance = 64 * 4 * U;

    // From identical gradients an Adam step rounds p, m, v, sqrt and the division: a few u of the weights' scale.
    private const double OneStepTolerance = 8 * U;

    // TF32: 2·2^-11 per product, times 4 for cancellation and the chain of three layers; BF16 alike from 2^-8.
    private const double Tf32GemmTolerance = 8.0 / (1 << 11), Bf16GemmTolerance = 8.0 / (1 << 8);

    // Behind a ReLU a gradient's normwise error is about √(the share of units whose pre-activation rounded across
    // zero), each flip changing its element wholesale. TF32 leaves that share negligible (measured 5e-4, within the GEMM
    // bound); BF16's 8-bit inputs move pre-activations by up to ~1e-2 and may flip a percent or two: √0.015 ≈ 0.12, so
    // 2^-3 (measured 4.2e-2 on the emulator).
    private const double Bf16GradientTolerance = 1.0 / 8;

    // Adam divides each gradient by its running RMS, so an element whose gradient is near eps (1e-8) turns a
    // gradient difference of a few u into a visible share of lr in its update. Over ten steps of at most lr each,
    // allow 1% of that travel: 0.01 * 10 * lr, as an absolute bound.
    private const double TenStepTolerance = 0.01 * 10 * 1e-3;

    // TF32 and BF16 round every gradient by 1e-3 to 1e-2 of its scale, which flips the sign of the smallest ones, and
    // Adam's early steps are about ±lr whatever the gradient's size: a weight can only be bounded by opposite steps, 2 lr each.
    private const double ReducedTenStepTolerance = 2 * 10 * 1e-3;

    // The loss of the next batch after ten steps is a smooth function of all the weights, so it shows what single
    // weights cannot under reduced precision: float32 keeps it within 1e-4 of the reference (relative), TF32 within
    // 1e-2 and BF16, whose inputs round 8 times coarser, within 5e-2.
    private const double TenStepLossTolerance = 1e-4, Tf32TenStepLossTolerance = 1e-2, Bf16TenStepLossTolerance = 5e-2;

    public static IReadOnlyList<ComparisonRow> Run(Device device, MnistDataSet data, int batchSize = 64, ulong seed = 1)
    {
        var rows = new List<ComparisonRow>();
        var precision = device is CudaDevice gpu ? gpu.Precision : Precision.FP32;
        bool reduced = precision != Precision.FP32;
        double gemmTolerance = precision switch { Precision.TF32 => Tf32GemmTolerance, Precision.BF16 => Bf16GemmTolerance, _ => GemmTolerance };
        double lossTolerance = reduced ? gemmTolerance : LossTolerance;
        string gemms = precision switch { Precision.TF32 => "TF32 GEMMs: 2^-10 a product", Precision.BF16 => "BF16 GEMMs: 2^-7 a product", _ => "k <= 784" };
        using var reference = MlpSpec.Default.Create(new Generator(seed), device: Device.Reference);
        using var model = MlpSpec.Default.Create(device: device);
        model.LoadStateDict(reference.StateDict());
        using var referenceLoader = DataLoader.FromMnist(data, batchSize, device: Device.Reference);
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
        rows.Add(Compare("loss", referenceLoss.Forward(logitsRef, yr), loss.Forward(logits, y), lossTolerance, reduced ? $"softmax CE of {precision} logits" : "64 rows of softmax CE"));
        rows.Add(Compare("dloss/dlogits", referenceLoss.Backward(), loss.Backward(), gemmTolerance, "softmax of the logits"));

        referenceOptimizer.ZeroGrad();
        optimizer.ZeroGrad();
        reference.Backward(referenceLoss.Backward());
        model.Backward(loss.Backward());
        foreach (var ((name, pr), (_, p)) in reference.NamedParameters().Zip(model.NamedParameters()))
            rows.Add(reduced
                ? Compare($"grad {name}", pr.Grad, p.Grad, precision == Precision.BF16 ? Bf16GradientTolerance : gemmTolerance,
                    $"backward GEMMs, {gemms}; ReLUs may flip", ToleranceKind.NormRelative)
                : Compare($"grad {name}", pr.Grad, p.Grad, gemmTolerance, $"backward GEMMs, {gemms}"));

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
            rows.Add(Compare($"after 10 steps: {name}", pr.Value, p.Value, reduced ? ReducedTenStepTolerance : TenStepTolerance,
                reduced ? "opposite Adam steps, 2 lr x 10" : "1% of 10 steps of lr", ToleranceKind.Absolute));
        if (batches.MoveNext())
        {
            ((xr, yr), (x, y)) = batches.Current;
            rows.Add(Compare("after 10 steps: next loss", referenceLoss.Forward(reference.Forward(xr), yr), loss.Forward(model.Forward(x), y),
                precision switch { Precision.TF32 => Tf32TenStepLossTolerance, Precision.BF16 => Bf16TenStepLossTolerance, _ => TenStepLossTolerance },
                "the loss of batch 11, smooth in all the weights"));
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

    private static ComparisonRow Compare(string name, Tensor reference, Tensor actual, double tolerance, string why,
        ToleranceKind kind = ToleranceKind.Relative)
    {
        var r = reference.ToArray<float>();
        var a = actual.ToArray<float>();
        double maxAbs = 0, scale = 0, differenceSquares = 0, referenceSquares = 0;
        for (int i = 0; i < r.Length; i++)
        {
            double diff = Math.Abs((double)a[i] - r[i]);
            maxAbs = Math.Max(maxAbs, double.IsNaN(diff) ? double.PositiveInfinity : diff);
            scale = Math.Max(scale, Math.Abs((double)r[i]));
            differenceSquares += double.IsNaN(diff) ? double.PositiveInfinity : diff * diff;
            referenceSquares += (double)r[i] * r[i];
        }
        double normRel = referenceSquares == 0 ? Math.Sqrt(differenceSquares) : Math.Sqrt(differenceSquares / referenceSquares);
        return new ComparisonRow(name, maxAbs, scale == 0 ? maxAbs : maxAbs / scale, normRel, tolerance, kind, why);
    }
}
