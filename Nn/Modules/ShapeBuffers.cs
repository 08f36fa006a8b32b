namespace CudaNn.Nn;

/// <summary>
/// The buffers one output or gradient of a layer reuses from call to call: one per shape, kept apart for training
/// and for inference (<see cref="GradMode"/>). A training step captured as a CUDA graph at one batch size replays
/// into the same addresses every time, so its buffers must outlive other shapes' calls: an uneven last batch, a
/// second batch size, evaluation at batch 1,000. They are freed only when the layer is disposed or moved, or when a
/// mode has used more than <see cref="Capacity"/> shapes, which frees the least recently used one (and the device then
/// drops every graph that wrote to it and captures it again). Callers get views of them, never the memory itself (see
/// <see cref="Tensor"/> on ownership). A layer of your own keeps its outputs and input gradients here, so a training
/// step captured as a CUDA graph keeps working with it (see the README, "Writing your own layer").
/// </summary>
public sealed class ShapeBuffers : IDisposable
{
    /// <summary>Shapes kept per mode: a full and a last batch of training, the same of evaluation, and room to spare.</summary>
    public const int Capacity = 4;

    // Least recently used first. Owner holds the memory; View is what callers get (it owns none), so a caller who
    // disposes what a layer returned ends only that view: the next call hands out a fresh view of the same memory,
    // and a graph that writes there stays valid.
    private readonly List<(bool Inference, Tensor Owner, Tensor View)> _buffers = [];

    /// <summary>A view of the buffer of this shape, dtype and device for the current grad mode, made on first use.</summary>
    public Tensor Get(ReadOnlySpan<int> shape, DType dtype, Device device)
    {
        bool inference = !GradMode.IsEnabled;
        for (int i = _buffers.Count - 1; i >= 0; i--)
        {
            var (mode, owner, view) = _buffers[i];
            if (mode != inference || owner.DType != dtype || owner.Device != device || !shape.SequenceEqual(owner.Shape)) continue;
            _buffers.RemoveAt(i);
            if (owner.IsDisposed)
            {
                view.Dispose();
                break;
            }
            if (view.IsDisposed) view = owner.Alias();
            _buffers.Add((mode, owner, view));
            return view;
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
            Release(_buffers[oldest]);
            _buffers.RemoveAt(oldest);
        }
        var made = Tensor.Empty(shape, dtype, device);
        var handedOut = made.Alias();
        _buffers.Add((inference, made, handedOut));
        return handedOut;
    }

    /// <summary>A view of the buffer shaped and placed like <paramref name="like"/> with <paramref name="shape"/>.</summary>
    public Tensor Get(ReadOnlySpan<int> shape, Tensor like) => Get(shape, like.DType, like.Device);

    /// <summary>Frees every buffer (the layer moved, or is disposed); views handed out then throw when used.</summary>
    public void Clear()
    {
        foreach (var entry in _buffers) Release(entry);
        _buffers.Clear();
    }

    public void Dispose() => Clear();

    private static void Release((bool Inference, Tensor Owner, Tensor View) entry)
    {
        entry.Owner.Dispose();
        entry.View.Dispose();
    }
}
