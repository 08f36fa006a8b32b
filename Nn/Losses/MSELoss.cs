namespace CudaNn.Nn;

/// <summary>
/// Mean squared error (torch.nn.MSELoss with reduction='mean'): loss = mean((pred - target)^2);
/// Backward returns dLoss/dPred = 2 (pred - target) / numel.
/// </summary>
public sealed class MSELoss : IDisposable
{
    private readonly ShapeBuffers _losses = new();
    private readonly ShapeBuffers _gradPreds = new();
    private Tensor? _latestGrad;

    public Tensor Forward(Tensor pred, Tensor target)
    {
        if (!pred.Shape.SequenceEqual(target.Shape))
            throw new ArgumentException($"MSELoss: pred {Tensor.ShapeText(pred.Shape)} and target {Tensor.ShapeText(target.Shape)} differ in shape");
        var loss = _losses.Get([], pred);
        var dpred = GradMode.IsEnabled ? _gradPreds.Get(pred.Shape, pred) : null;
        pred.Backend.MseLoss(pred, target, dpred, loss);
        _latestGrad = dpred;
        return loss;
    }

    /// <summary>dLoss/dPred of the latest Forward.</summary>
    public Tensor Backward() => _latestGrad ?? throw new InvalidOperationException(
        "MSELoss.Backward needs a Forward outside GradMode.NoGrad()");

    public void Dispose()
    {
        _losses.Dispose();
        _gradPreds.Dispose();
        _latestGrad = null;
    }
}
