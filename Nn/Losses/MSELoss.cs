namespace CudaNn.Nn;

/// <summary>
/// Mean squared error (torch.nn.MSELoss with reduction='mean'): loss = mean((pred - target)^2);
/// Backward returns dLoss/dPred = 2 (pred - target) / numel.
/// </summary>
public sealed class MSELoss : IDisposable
{
    private Tensor? _loss;
    private Tensor? _gradPred;

    public Tensor Forward(Tensor pred, Tensor target)
    {
        if (!pred.Shape.SequenceEqual(target.Shape))
            throw new ArgumentException($"MSELoss: pred {Tensor.ShapeText(pred.Shape)} and target {Tensor.ShapeText(target.Shape)} differ in shape");
        if (_loss is null || _loss.Device != pred.Device || _loss.DType != pred.DType)
        {
            _loss?.Dispose();
            _loss = Tensor.Empty([], pred.DType, pred.Device);
        }
        if (_gradPred is null || !_gradPred.Shape.SequenceEqual(pred.Shape) || _gradPred.Device != pred.Device || _gradPred.DType != pred.DType)
        {
            _gradPred?.Dispose();
            _gradPred = Tensor.Empty(pred.Shape, pred.DType, pred.Device);
        }
        pred.Backend.MseLoss(pred, target, _gradPred, _loss);
        return _loss;
    }

    /// <summary>dLoss/dPred of the latest Forward.</summary>
    public Tensor Backward() => _gradPred ?? throw new InvalidOperationException("MSELoss.Backward called before Forward");

    public void Dispose()
    {
        _loss?.Dispose();
        _gradPred?.Dispose();
        _loss = _gradPred = null;
    }
}
