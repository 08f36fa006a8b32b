namespace CudaNn;

/// <summary>
/// A layer's output (or input gradient, or a loss) was used after the layer handed its buffer out again: its next call
/// at the same shape, or a replay of a captured training step, wrote new values where the kept view still points.
/// PyTorch refuses a tensor changed in place since autograd saved it; CudaNn refuses the stale view. Keep an output
/// past the layer's next call with <see cref="Tensor.Clone"/>.
/// </summary>
public sealed class OverwrittenTensorException(Tensor tensor) : InvalidOperationException(
    $"{tensor} is an output a layer returned, and the layer has since written its buffer again (its next call at this shape, " +
    "or a replay of a captured training step), so it no longer holds what was returned; call Clone() on an output to keep it " +
    "past the layer's next call");
