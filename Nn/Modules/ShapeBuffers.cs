namespace CudaNn.Nn;

/// <summary>
/// The buffers one output or gradient of a layer reuses from call to call: one per shape, kept apart for training
/// and for inference (<see cref="GradMode"/>). A training step captured as a CUDA graph at one batch size replays
/// into the same addresses every time, so its buffers must outlive other shapes' calls: an uneven last batch, a
/// second batch size, evaluation at batch 1,000. They are freed only when the layer is disposed or moved, or when a
/// mode has used more than <see cref="Capacity"/> shapes, which frees the least recently used one (and the device then
/// drops every graph that wrote to it, see <see cref="Training.StepGraphs"/>).
/// </summary>
internal sealed class ShapeBuffers : IDisposable
{
    /// <summary>Shapes kept per mode: a full and a last batch of training, the same of evaluation, and room to spare.</summary>
    public const int Capacity = 4;

    // Least recently used first.
    private readonly List<(bool Inference, Tensor Buffer)> _buffers = [];

    /// <summary>The buffer of this shape, dtype and device for the current grad mode, made on first use.</summary>
    public Tensor Get(ReadOnlySpan<int> shape, DType dtype, Device device)
    {
        bool inference = !GradMode.IsEnabled;
        for (int i = _buffers.Count - 1; i >= 0; i--)
        {
            var (mode, buffer) = _buffers[i];
            if (mode != inference || buffer.DType != dtype || buffer.Device != device || !shape.SequenceEqual(buffer.Shape)) continue;
            if (buffer.Storage.IsDisposed)
            {
                // Disposed by a caller: forget it and make a new one.
                _buffers.RemoveAt(i);
                break;
            }
            _buffers.RemoveAt(i);
            _buffers.Add((mode, buffer));
            return buffer;
        }
        // Plain loops, no lambdas: a lambda capturing `inference` would allocate its closure on every call, hits included.
        int sameMode = 0, oldest = -1;
        for (int i = 0; i < _buffers.Count; i++)
        {
            if (_buffers[i].Inference != inference) continue;
            sameMode++;
            if (oldest < 0) oldest = i;
        }
        if (sameMode >= Capacity)
        {
            _buffers[oldest].Buffer.Dispose();
            _buffers.RemoveAt(oldest);
        }
        var made = Tensor.Empty(shape.ToArray(), dtype, device);
        _buffers.Add((inference, made));
        return made;
    }

    /// <summary>The buffer shaped and placed like <paramref name="like"/> with <paramref name="shape"/>.</summary>
    public Tensor Get(ReadOnlySpan<int> shape, Tensor like) => Get(shape, like.DType, like.Device);

    /// <summary>Frees every buffer (the layer moved, or is disposed).</summary>
    public void Clear()
    {
        foreach (var (_, buffer) in _buffers) buffer.Dispose();
        _buffers.Clear();
    }

    public void Dispose() => Clear();
}
