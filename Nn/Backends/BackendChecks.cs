using CudaNn.Backends.Plans;
namespace CudaNn.Backends;

/// <summary>Shape and device checks shared by every backend, so each failure reads the same everywhere.</summary>
internal static class BackendChecks
{
    /// <summary>Checks c[M,N] = op(a)[M,K] * op(b)[K,N] and returns (M, N, K).</summary>
    public static (int M, int N, int K) Gemm(Backend backend, bool transA, bool transB, Tensor a, Tensor b, Tensor c)
    {
        Same(backend, nameof(Gemm), a, b, c);
        Rank(nameof(Gemm), 2, a, b, c);
        int m = transA ? a.Shape[1] : a.Shape[0];
        int k = transA ? a.Shape[0] : a.Shape[1];
        int kb = transB ? b.Shape[1] : b.Shape[0];
        int n = transB ? b.Shape[0] : b.Shape[1];
        if (k != kb || c.Shape[0] != m || c.Shape[1] != n)
            throw new ArgumentException(
                $"Gemm: op(a) {Tensor.ShapeText([m, k])} times op(b) {Tensor.ShapeText([kb, n])} " +
                $"cannot give c {Tensor.ShapeText(c.Shape)} (transA={transA}, transB={transB})");
        return (m, n, k);
    }

    /// <summary>Checks that the tensors live on the backend's device and have its dtype.</summary>
    public static void Same(Backend backend, string op, params ReadOnlySpan<Tensor?> tensors)
    {
        foreach (var t in tensors)
        {
            if (t is null) continue;
            OnDevice(backend, op, t);
            if (t.DType != backend.DType)
                throw new ArgumentException($"{op}: expected {backend.DType.Name()} but got {t}");
        }
    }

    public static void OnDevice(Backend backend, string op, Tensor t)
    {
        // Host tensors are host arrays whichever host backend computes on them (cpu or reference).
        if (t.Device != backend.Device && !(t.Device.Kind == DeviceKind.Cpu && backend.Device.Kind == DeviceKind.Cpu))
            throw new ArgumentException($"{op}: tensor {t} is on {t.Device.Name}, but this operation runs on {backend.Device.Name}");
    }

    public static void Rank(string op, int rank, params ReadOnlySpan<Tensor> tensors)
    {
        foreach (var t in tensors)
            if (t.Rank != rank)
                throw new ArgumentException($"{op}: expected a {rank}-d tensor but got shape {Tensor.ShapeText(t.Shape)}");
    }

    public static void SameNumel(string op, Tensor a, Tensor b)
    {
        if (a.Numel != b.Numel)
            throw new ArgumentException(
                $"{op}: shapes {Tensor.ShapeText(a.Shape)} and {Tensor.ShapeText(b.Shape)} hold different element counts");
    }

    public static void DTypeIs(string op, DType dtype, Tensor t, string what)
    {
        if (t.DType != dtype)
            throw new ArgumentException($"{op}: {what} must be {dtype.Name()}, got {t}");
    }

    /// <summary>Checks the gradients, the bound and the one-element norm of a gradient-norm clip.</summary>
    public static void ClipGradNorm(Backend backend, IReadOnlyList<Tensor> grads, double maxNorm, Tensor totalNorm)
    {
        ArgumentNullException.ThrowIfNull(grads);
        foreach (var g in grads) Same(backend, nameof(Backend.ClipGradNorm), g);
        Same(backend, nameof(Backend.ClipGradNorm), totalNorm);
        if (totalNorm.Numel != 1)
            throw new ArgumentException($"ClipGradNorm: the total norm is one element, got {totalNorm} of shape {Tensor.ShapeText(totalNorm.Shape)}");
        if (!(maxNorm >= 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "ClipGradNorm: the largest norm must be 0 or above (infinity measures without clipping)");
    }

    /// <summary>Checks the tensor and bounds of a clamp.</summary>
    public static void Clamp(Backend backend, Tensor x, double min, double max)
    {
        Same(backend, nameof(Backend.Clamp), x);
        if (double.IsNaN(min) || double.IsNaN(max) || min > max)
            throw new ArgumentOutOfRangeException(nameof(min), min, $"Clamp: the bounds [{min}, {max}] must be numbers with min <= max");
    }

    /// <summary>Checks a layer norm's operands; returns (rows, C), C being x's last dimension.</summary>
    public static (int Rows, int Cols) LayerNorm(Backend backend, string op, Tensor x, Tensor? weight, Tensor? bias, Tensor y, Tensor mean, Tensor rstd,
        Tensor? dweight = null, Tensor? dbias = null)
    {
        Same(backend, op, x, weight, bias, y, mean, rstd, dweight, dbias);
        if (x.Rank == 0) throw new ArgumentException($"{op}: x {x} has no dimension to normalise");
        int cols = x.Shape[^1];
        if (cols == 0) throw new ArgumentException($"{op}: x {x} has an empty last dimension");
        int rows = checked((int)(x.Numel / cols));
        SameNumel(op, x, y);
        foreach (var (t, what) in new[] { (weight, "weight"), (bias, "bias"), (dweight, "dweight"), (dbias, "dbias") })
            if (t is not null && t.Numel != cols)
                throw new ArgumentException($"{op}: {what} {t} does not match the {cols} features of x {x}");
        if (mean.Numel != rows || rstd.Numel != rows)
            throw new ArgumentException($"{op}: mean {mean} and rstd {rstd} need one element per row of x ({rows})");
        return (rows, cols);
    }

    /// <summary>Checks a normalisation's epsilon: finite, 0 or above.</summary>
    public static void Epsilon(string op, double eps)
    {
        if (!(eps >= 0) || double.IsInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{op}: eps must be a finite number, 0 or above");
    }

    /// <summary>Checks the operands of a dropout: x, y and noise alike, an int32 [4] generator state, 0 &lt;= p &lt;= 1.</summary>
    public static void Dropout(Backend backend, Tensor x, Tensor y, Tensor noise, Tensor rngState, double p)
    {
        const string op = nameof(Backend.DropoutForward);
        Elementwise(backend, op, x, y, noise);
        OnDevice(backend, op, rngState);
        DTypeIs(op, DType.Int32, rngState, "the generator state");
        if (rngState.Numel != 4) throw new ArgumentException($"{op}: the generator state holds 4 int32 (seed, call), got {rngState}");
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"{op}: the drop probability must be in [0, 1]");
        if (Overlap(x, y) || Overlap(x, noise) || Overlap(y, noise))
            throw new ArgumentException($"{op}: x {x}, y {y} and noise {noise} must not overlap");
    }

    private static bool Overlap(Tensor a, Tensor b) =>
        a.Storage == b.Storage && a.Offset < b.Offset + b.Numel && b.Offset < a.Offset + a.Numel;

    /// <summary>Checks logits[N,C], labels[N] (int32) and the optional outputs of a softmax cross-entropy.</summary>
    public static (int N, int C) SoftmaxCrossEntropy(Backend backend, Tensor logits, Tensor labels, Tensor? dlogits, Tensor loss, Tensor? correct,
        Tensor? total)
    {
        const string op = nameof(SoftmaxCrossEntropy);
        Same(backend, op, logits, dlogits, loss, total);
        if (total is not null && total.Numel != 1) throw new ArgumentException($"{op}: total must hold one element, got {total}");
        OnDevice(backend, op, labels);
        Rank(op, 2, logits);
        DTypeIs(op, DType.Int32, labels, "labels");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (labels.Rank != 1 || labels.Shape[0] != n)
            throw new ArgumentException($"{op}: labels of shape {Tensor.ShapeText(labels.Shape)} do not match logits {Tensor.ShapeText(logits.Shape)}; expected [{n}]");
        if (c < 1) throw new ArgumentException($"{op}: logits {Tensor.ShapeText(logits.Shape)} have no classes");
        if (dlogits is not null) SameNumel(op, logits, dlogits);
        if (loss.Numel != 1) throw new ArgumentException($"{op}: loss must hold one element, got {loss}");
        if (correct is not null)
        {
            OnDevice(backend, op, correct);
            DTypeIs(op, DType.Int32, correct, "correct");
            if (correct.Numel != 1) throw new ArgumentException($"{op}: correct must hold one element, got {correct}");
        }
        return (n, c);
    }

    /// <summary>Checks y [N, C] and an optional bias [C]; returns (N, C).</summary>
    public static (int Rows, int Cols) BiasActivation(Backend backend, Tensor y, Tensor? bias)
    {
        const string op = nameof(Backend.BiasActivationForward);
        Same(backend, op, y, bias);
        Rank(op, 2, y);
        if (bias is not null && bias.Numel != y.Shape[1])
            throw new ArgumentException($"{op}: bias {bias} does not match {y.Shape[1]} columns of {y}");
        return (y.Shape[0], y.Shape[1]);
    }

    /// <summary>Checks dy [N, C] against dbias [C]; returns (N, C).</summary>
    public static (int Rows, int Cols) BiasGradient(Backend backend, Tensor dy, Tensor dbias)
    {
        const string op = nameof(Backend.BiasGradient);
        Same(backend, op, dy, dbias);
        Rank(op, 2, dy);
        if (dbias.Numel != dy.Shape[1])
            throw new ArgumentException($"{op}: dbias {dbias} does not match {dy.Shape[1]} columns of {dy}");
        return (dy.Shape[0], dy.Shape[1]);
    }

    /// <summary>Checks tensors of the backend's dtype that must all hold as many elements as the first.</summary>
    public static void Elementwise(Backend backend, string op, Tensor first, params ReadOnlySpan<Tensor?> others)
    {
        Same(backend, op, first);
        foreach (var t in others)
        {
            if (t is null) continue;
            Same(backend, op, t);
            SameNumel(op, first, t);
        }
    }

    /// <summary>Checks an optimizer's int32 step counter.</summary>
    public static void StepCounter(Backend backend, string op, Tensor step)
    {
        OnDevice(backend, op, step);
        DTypeIs(op, DType.Int32, step, "step");
        if (step.Numel != 1) throw new ArgumentException($"{op}: step must hold one element, got {step}");
    }

    /// <summary>Checks a stack for a plan's forward or backward: shapes chain from x [N, In] through every layer, all on this backend.</summary>
    public static void Mlp(Backend backend, Tensor x, ReadOnlySpan<MlpLayer> layers, bool backward)
    {
        const string op = "Mlp";
        if (layers.IsEmpty) throw new ArgumentException($"{op}: no layers");
        Same(backend, op, x);
        Rank(op, 2, x);
        int rows = x.Shape[0], width = x.Shape[1];
        for (int l = 0; l < layers.Length; l++)
        {
            var layer = layers[l];
            if (layer.Activation.BackwardReadsInput)
                throw new ArgumentException($"{op}: layer {l}'s {layer.Activation} needs its input for backward, and a stack keeps only each layer's output");
            Same(backend, op, layer.Weight, layer.Bias, layer.Output);
            int outputs = layer.Weight.Shape[0];
            if (layer.Weight.Rank != 2 || layer.Weight.Shape[1] != width)
                throw new ArgumentException($"{op}: layer {l} weight {layer.Weight} does not take {width} inputs");
            if (layer.Bias is not null && (layer.Bias.Rank != 1 || layer.Bias.Shape[0] != outputs))
                throw new ArgumentException($"{op}: layer {l} bias {layer.Bias} does not match {outputs} outputs");
            if (layer.Output.Rank != 2 || layer.Output.Shape[0] != rows || layer.Output.Shape[1] != outputs)
                throw new ArgumentException($"{op}: layer {l} output {layer.Output} is not [{rows}, {outputs}]");
            if (backward)
            {
                if (layer.PreActivationGrad is null || layer.WeightGrad is null)
                    throw new ArgumentException($"{op}: layer {l} has no buffer for its pre-activation gradient or weight gradient");
                Same(backend, op, layer.PreActivationGrad, layer.WeightGrad, layer.BiasGrad);
                SameNumel(op, layer.Output, layer.PreActivationGrad);
                SameNumel(op, layer.Weight, layer.WeightGrad);
                if ((layer.Bias is null) != (layer.BiasGrad is null) || (layer.BiasGrad is not null && layer.BiasGrad.Numel != outputs))
                    throw new ArgumentException($"{op}: layer {l} bias gradient {layer.BiasGrad?.ToString() ?? "null"} does not match its bias");
            }
            width = outputs;
        }
    }

    /// <summary>Checks an optimizer's hyperparameter buffer: float64, <paramref name="count"/> elements, on the backend's device.</summary>
    public static void Hyperparameters(Backend backend, string op, Tensor hyperparameters, int count)
    {
        OnDevice(backend, op, hyperparameters);
        DTypeIs(op, DType.Float64, hyperparameters, "hyperparameters");
        if (hyperparameters.Numel != count) throw new ArgumentException($"{op}: hyperparameters must hold {count} elements, got {hyperparameters}");
    }

    /// <summary>Checks a row gather: source [M, ...] and destination [B, ...] alike in dtype and row size, indices int32 [B]; returns (M, row size, B).</summary>
    public static (int Count, int Width, int Batch) GatherRows(Backend backend, Tensor source, Tensor indices, Tensor destination)
    {
        const string op = nameof(Backend.GatherRows);
        OnDevice(backend, op, source);
        OnDevice(backend, op, indices);
        OnDevice(backend, op, destination);
        DTypeIs(op, DType.Int32, indices, "indices");
        if (source.DType != destination.DType) throw new ArgumentException($"{op}: source {source} and destination {destination} differ in dtype");
        if (source.Rank == 0 || destination.Rank == 0 || indices.Rank != 1 || destination.Shape[0] != indices.Shape[0])
            throw new ArgumentException($"{op}: expected source [M, ...], indices [B] and destination [B, ...], got {source}, {indices} and {destination}");
        int count = source.Shape[0], batch = destination.Shape[0];
        long width = count == 0 ? 0 : source.Numel / count, destinationWidth = batch == 0 ? width : destination.Numel / batch;
        if (width != destinationWidth) throw new ArgumentException($"{op}: rows of {source} and {destination} differ in size");
        return (count, checked((int)width), batch);
    }

    /// <summary>Checks a batch gather: images uint8 [M, ...], labels uint8 [M], indices int32 [B], x [B, D], y int32 [B]; returns (M, D, B).</summary>
    public static (int Count, int Features, int Batch) GatherNormalize(Backend backend, Tensor images, Tensor labels, Tensor indices, Tensor x, Tensor y)
    {
        const string op = nameof(Backend.GatherNormalize);
        Same(backend, op, x);
        OnDevice(backend, op, images);
        OnDevice(backend, op, labels);
        OnDevice(backend, op, indices);
        OnDevice(backend, op, y);
        DTypeIs(op, DType.UInt8, images, "images");
        DTypeIs(op, DType.UInt8, labels, "labels");
        DTypeIs(op, DType.Int32, indices, "indices");
        DTypeIs(op, DType.Int32, y, "y");
        int count = images.Rank == 0 ? 0 : images.Shape[0];
        int features = count == 0 ? 0 : (int)(images.Numel / count);
        int batch = (int)indices.Numel;
        if (x.Numel != (long)batch * features || y.Numel != batch || labels.Numel != count)
            throw new ArgumentException($"{op}: x {x}, y {y}, labels {labels} do not match {batch} indices into images {images}");
        return (count, features, batch);
    }
}
