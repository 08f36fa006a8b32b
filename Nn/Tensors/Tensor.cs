using System.Runtime.InteropServices;
using CudaNn.Backends;
using CudaNn.Nn;

namespace CudaNn;

/// <summary>
/// A dense, row-major, contiguous view of <see cref="Shape"/> over a <see cref="Storage"/>, starting at
/// <see cref="Offset"/>.
/// <para>Who owns what: a tensor you make (<see cref="Zeros"/>, <see cref="Empty"/>, <see cref="FromArray{T}"/>,
/// <see cref="To(Device)"/>) owns its memory, and disposing it frees that memory (on a GPU at once, not when the GC
/// runs). What a layer or loss returns is a view of a buffer the layer keeps and overwrites on its next call at the
/// same shape (as llm.c keeps its activations, so the Trainer's step allocates nothing): read it before that call, or
/// keep a copy (<see cref="Clone"/>). Reading or writing such a view after the layer handed its buffer out again
/// throws <see cref="OverwrittenTensorException"/>, as PyTorch refuses a tensor modified in place since it was saved.
/// Disposing such a view is allowed and harmless (<c>using var y = model.Forward(x);</c>): the buffer stays the
/// layer's. Any use of a disposed tensor, or of a view whose buffer is gone (the model was moved or disposed), throws
/// <see cref="ObjectDisposedException"/> naming the tensor, on every device.</para>
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private bool _ownsStorage;

    internal Tensor(Storage storage, long offset, int[] shape, bool ownsStorage)
    {
        long numel = CheckShape(shape);
        if (offset < 0 || offset + numel > storage.Length)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"a view of {numel} elements at offset {offset} does not fit a storage of {storage.Length}");
        Storage = storage;
        Offset = offset;
        _shape = shape;
        Numel = numel;
        _ownsStorage = ownsStorage;
    }

    public Storage Storage { get; }

    private bool _disposed;

    /// <summary>True once this tensor was disposed, or the memory it views was freed.</summary>
    public bool IsDisposed => _disposed || Storage.IsDisposed;

    /// <summary>
    /// Throws <see cref="ObjectDisposedException"/> naming this tensor if it may no longer be used, or
    /// <see cref="OverwrittenTensorException"/> if it is a layer's output whose buffer was handed out again since.
    /// </summary>
    internal void ThrowIfUnusable()
    {
        if (IsDisposed)
            throw new ObjectDisposedException(ToString(), _disposed
                ? "This tensor was disposed."
                : "The memory this tensor views was freed: the tensor that owned it was disposed, or its layer was moved or disposed.");
        if (_handOut is { } handOut && handOut.Count != _handOutNumber) throw new OverwrittenTensorException(this);
    }

    // For a view a layer handed out of its ShapeBuffers: that buffer's count of hand-outs, and which one this view was.
    private ShapeBuffers.HandOut? _handOut;
    private long _handOutNumber;

    /// <summary>The hand-outs of the layer's buffer this view came from; null for any other tensor.</summary>
    internal ShapeBuffers.HandOut? HandOutOf => _handOut;

    /// <summary>Makes this view the latest hand-out of <paramref name="handOut"/>'s buffer; every earlier view of it is overwritten from now on.</summary>
    internal void HandOutAgain(ShapeBuffers.HandOut handOut)
    {
        _handOut = handOut;
        _handOutNumber = ++handOut.Count;
    }

    /// <summary>
    /// A copy of this tensor in memory of its own, on the same device (torch.Tensor.clone): for keeping what a layer
    /// returned past the layer's next call.
    /// </summary>
    public Tensor Clone()
    {
        ThrowIfUnusable();
        var copy = Empty(Shape, DType, Device);
        Backend.Copy(this, copy);
        copy.RequiresGrad = RequiresGrad;
        return copy;
    }

    /// <summary>Another view of exactly this tensor's elements, owning nothing (for buffers handed out by layers).</summary>
    internal Tensor Alias() => new(Storage, Offset, _shape, ownsStorage: false);
    public long Offset { get; }
    private readonly int[] _shape;

    /// <summary>The size of each dimension. Read-only: a tensor's shape never changes (<see cref="View"/> makes another).</summary>
    public ReadOnlySpan<int> Shape => _shape;
    public long Numel { get; }
    public int Rank => Shape.Length;
    public DType DType => Storage.DType;
    public Device Device => Storage.Device;

    /// <summary>As PyTorch's requires_grad: whether Backward should produce a gradient for this tensor.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The backend that computes on this tensor's device and dtype.</summary>
    public Backend Backend => Device.BackendFor(DType);

    /// <summary>Size of dimension <paramref name="dim"/>; negative counts from the end.</summary>
    public int Size(int dim) => Shape[dim < 0 ? Shape.Length + dim : dim];

    /// <summary>A new tensor of the same storage with another shape of the same element count (torch.view).</summary>
    public Tensor View(params int[] shape)
    {
        ThrowIfUnusable();
        if (CheckShape(shape) != Numel)
            throw new ArgumentException($"cannot view a tensor of shape {ShapeText(Shape)} as {ShapeText(shape)}");
        return new Tensor(Storage, Offset, (int[])shape.Clone(), ownsStorage: false) { RequiresGrad = RequiresGrad, _handOut = _handOut, _handOutNumber = _handOutNumber };
    }

    /// <summary>Rows [start, start + length) of dimension 0, sharing this tensor's storage (torch.narrow(0, ...)).</summary>
    public Tensor Narrow(int start, int length)
    {
        ThrowIfUnusable();
        if (Rank == 0) throw new InvalidOperationException("cannot narrow a 0-d tensor");
        if (start < 0 || length < 0 || start + length > Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + length}) lie outside {ShapeText(Shape)}");
        long rowSize = Shape[0] == 0 ? 0 : Numel / Shape[0];
        var shape = Shape.ToArray();
        shape[0] = length;
        return new Tensor(Storage, Offset + start * rowSize, shape, ownsStorage: false) { RequiresGrad = RequiresGrad, _handOut = _handOut, _handOutNumber = _handOutNumber };
    }

    /// <summary>Copies the elements to a new host array (a device-to-host copy when on a GPU).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        ThrowIfUnusable();
        CheckElementType<T>();
        var result = new T[Numel];
        Storage.CopyToHost(Offset, MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    /// <summary>Overwrites the elements with host data of the same length.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        ThrowIfUnusable();
        CheckElementType<T>();
        if (source.Length != Numel)
            throw new ArgumentException($"{source.Length} values given for a tensor of shape {ShapeText(Shape)} ({Numel} elements)");
        Storage.CopyFromHost(MemoryMarshal.AsBytes(source), Offset);
    }

    /// <summary>The value of a one-element tensor as a double (torch.Tensor.item()); waits for the device.</summary>
    public double Item()
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Item() needs a tensor of one element, not shape {ShapeText(Shape)}");
        return DType switch
        {
            DType.Float32 => ToArray<float>()[0],
            DType.Float64 => ToArray<double>()[0],
            DType.Int32 => ToArray<int>()[0],
            DType.UInt8 => ToArray<byte>()[0],
            _ => throw new NotSupportedException(DType.Name()),
        };
    }

    /// <summary>The elements as a span of the host array; only for tensors on the CPU.</summary>
    internal Span<T> Span<T>() where T : unmanaged
    {
        if (Storage is not CpuStorage<T> cpu)
            throw new InvalidOperationException(
                $"host access to a {DType.Name()} tensor on {Device.Name} as {typeof(T).Name}; copy it to the CPU first");
        ThrowIfUnusable();
        return cpu.Data.AsSpan((int)Offset, (int)Numel);
    }

    /// <summary>A view that keeps <paramref name="storage"/> alive until the view itself is disposed.</summary>
    internal static Tensor SharedView(Storage storage, long offset, ReadOnlySpan<int> shape)
    {
        var view = new Tensor(storage, offset, shape.ToArray(), ownsStorage: false);
        storage.Retain();
        view._ownsStorage = true;
        return view;
    }

    /// <summary>
    /// Ends this tensor: it may not be used again, and if it owns its memory (see the class summary) the memory is freed.
    /// Views, and what layers return, own none: disposing them leaves the memory to its owner.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        if (!_ownsStorage) return;
        _ownsStorage = false;
        Storage.Dispose();
    }

    public override string ToString() => $"Tensor({ShapeText(Shape)}, {DType.Name()}, {Device.Name})";

    internal static string ShapeText(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static long CheckShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long numel = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {ShapeText(shape)}");
            numel = checked(numel * d);
        }
        return numel;
    }

    private void CheckElementType<T>() where T : unmanaged
    {
        if (DTypeExtensions.Of<T>() != DType)
            throw new InvalidOperationException($"a {DType.Name()} tensor cannot be read or written as {typeof(T).Name}");
    }
}
