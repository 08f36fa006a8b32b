namespace CudaNn.Nn;

/// <summary>
/// The buffers one output or gradient of a layer reuses from call to call: one per shape, kept apart for training
/// and for inference (<see cref="GradMode"/>). A training step captured as a CUDA graph at one batch size replays
/// into the same addresses every time, so its buffers must outlive other shapes' calls: an uneven last batch, a
/// second batch size, evaluation at batch 1,000. They are freed only when the layer is disposed or moved, or when a
/// mode has used more than <see cref="Capacity"/> shapes, which frees the least recently used one (and the device then
/// drops every graph that wrote to it and captures it again). Callers get views of them, never the memory itself (see
/// <see cref="Tensor"/> on ownership): a view of its own per call, so that one kept past the next call throws
/// <see cref="OverwrittenTensorException"/> when used instead of reading the new values. A layer of your own keeps its outputs and input gradients here, so a training
/// step captured as a CUDA graph keeps working with it (see the README, "Writing your own layer").
/// </summary>
public sealed class ShapeBuffers : IDisposable
{
    /// <summary>Shapes kept per mode: a full and a last batch of training, the same of evaluation, and room to spare.</summary>
    public const int Capacity = 4;

    /// <summary>How many views of one buffer were handed out: only the latest may still be read or written (<see cref="OverwrittenTensorException"/>).</summary>
    internal sealed class HandOut
    {
        public long Count;
    }

    /// <summary>
    /// One buffer: its memory (Owner) and its hand-outs. Each call gets a view of its own, so a caller who keeps one
    /// and reads it after the next call is told (its number is no longer the latest) instead of reading new values, and
    /// a caller who disposes what a layer returned ends only that view. The Trainer's own steps, whose views never
    /// leave it, take the same view (Reused) every time and so allocate nothing.
    /// </summary>
    private sealed class Entry(bool inference, Tensor owner)
    {
        public bool Inference { get; } = inference;
        public Tensor Owner { get; } = owner;
        public HandOut HandOut { get; } = new();
        public Tensor? Reused { get; set; }
    }

    // Least recently used first.
    private readonly List<Entry> _buffers = [];

    [ThreadStatic] private static bool t_reuseViews;
    [ThreadStatic] private static List<Tensor>? t_recording;

    /// <summary>A view of the buffer of this shape, dtype and device for the current grad mode, made on first use; every earlier view of it is overwritten from now on.</summary>
    public Tensor Get(ReadOnlySpan<int> shape, DType dtype, Device device)
    {
        bool inference = !GradMode.IsEnabled;
        for (int i = _buffers.Count - 1; i >= 0; i--)
        {
            var entry = _buffers[i];
            if (entry.Inference != inference || entry.Owner.DType != dtype || entry.Owner.Device != device || !shape.SequenceEqual(entry.Owner.Shape)) continue;
            _buffers.RemoveAt(i);
            if (entry.Owner.IsDisposed) break;
            _buffers.Add(entry);
            return NextView(entry);
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
            _buffers[oldest].Owner.Dispose();
            _buffers.RemoveAt(oldest);
        }
        var made = new Entry(inference, Tensor.Empty(shape, dtype, device));
        _buffers.Add(made);
        return NextView(made);
    }

    /// <summary>A view of the buffer shaped and placed like <paramref name="like"/> with <paramref name="shape"/>.</summary>
    public Tensor Get(ReadOnlySpan<int> shape, Tensor like) => Get(shape, like.DType, like.Device);

    private static Tensor NextView(Entry entry)
    {
        Tensor view;
        if (t_reuseViews)
        {
            view = entry.Reused is { IsDisposed: false } reused ? reused : entry.Owner.Alias();
            entry.Reused = view;
        }
        else
        {
            view = entry.Owner.Alias();
        }
        view.HandOutAgain(entry.HandOut);
        t_recording?.Add(view);
        return view;
    }

    /// <summary>
    /// Until disposed, every buffer hands out on this thread the one view it keeps for this purpose rather than a new
    /// one: for the Trainer's step and evaluation, whose outputs never reach the caller, so they allocate nothing.
    /// Views handed out before are overwritten all the same.
    /// </summary>
    internal static ReuseScope ReuseViews()
    {
        var scope = new ReuseScope(t_reuseViews);
        t_reuseViews = true;
        return scope;
    }

    internal readonly struct ReuseScope(bool previous) : IDisposable
    {
        public void Dispose() => t_reuseViews = previous;
    }

    /// <summary>
    /// Until <see cref="StopRecording"/>, every view handed out on this thread is added to <paramref name="views"/>:
    /// a captured step records the views it wrote, and each replay hands them out again (<see cref="HandOutAgain"/>).
    /// </summary>
    internal static void Record(List<Tensor> views) => t_recording = views;

    internal static void StopRecording() => t_recording = null;

    /// <summary>A replay of a captured step wrote these views' buffers again: they are the latest hand-outs, and any other view of those buffers is overwritten.</summary>
    internal static void HandOutAgain(List<Tensor> views)
    {
        foreach (var view in views) view.HandOutAgain(view.HandOutOf!);
    }

    /// <summary>Frees every buffer (the layer moved, or is disposed); views handed out then throw when used.</summary>
    public void Clear()
    {
        foreach (var entry in _buffers) entry.Owner.Dispose();
        _buffers.Clear();
    }

    public void Dispose() => Clear();
}
