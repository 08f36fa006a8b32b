using System.Collections;

namespace CudaNn.Data;

/// <summary>
/// Batches of a uint8 data set held on a device (torch.utils.data.DataLoader over MNIST with
/// Normalize((0.5,), (0.5,))): each batch is gathered and normalised on the device,
/// x = (byte / 255 - mean) / std, so the bytes cross to a GPU once, not once per epoch.
/// Shuffling draws a new permutation from the generator at the start of every epoch; the last, smaller
/// batch is kept. The yielded tensors are buffers reused by the next batch of the same size.
/// <code>foreach (var (x, y) in loader) { ... }   // x [B, 784] float32, y [B] int32</code>
/// </summary>
public sealed partial class DataLoader : IEnumerable<(Tensor X, Tensor Y)>, IDisposable
{
    private readonly Tensor _images;
    private readonly Tensor _labels;
    private readonly Tensor _order;
    private readonly Tensor[] _batchIndices;
    private readonly Dictionary<int, (Tensor X, Tensor Y)> _batches = [];

    /// <param name="images">uint8 [M, ...], one row per sample; the loader takes ownership.</param>
    /// <param name="labels">uint8 [M]; the loader takes ownership.</param>
    public DataLoader(Tensor images, Tensor labels, int batchSize, bool shuffle = false, Generator? generator = null,
        DType dtype = DType.Float32, double mean = 0.5, double std = 0.5)
    {
        if (images.DType != DType.UInt8 || labels.DType != DType.UInt8)
            throw new ArgumentException($"DataLoader takes uint8 images and labels, got {images} and {labels}");
        if (images.Rank < 1 || labels.Rank != 1 || labels.Shape[0] != images.Shape[0])
            throw new ArgumentException($"DataLoader: {(images.Rank > 0 ? images.Shape[0] : 0)} images but labels of shape {Tensor.ShapeText(labels.Shape)}");
        if (images.Device != labels.Device)
            throw new ArgumentException($"DataLoader: images on {images.Device.Name} but labels on {labels.Device.Name}");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "std must be positive");
        _images = images;
        _labels = labels;
        Count = images.Shape[0];
        Features = Count == 0 ? 0 : (int)(images.Numel / Count);
        BatchSize = batchSize;
        Shuffle = shuffle;
        Generator = generator ?? new Generator(0);
        DType = dtype;
        Mean = mean;
        Std = std;
        _order = Tensor.Empty([Count], DType.Int32, images.Device);
        _order.CopyFrom<int>(Enumerable.Range(0, Count).ToArray());
        // Each batch reads the same slice of the order every epoch: make the views once, not once per step.
        _batchIndices = Enumerable.Range(0, BatchCount)
            .Select(b => _order.Narrow(b * batchSize, Math.Min(batchSize, Count - b * batchSize))).ToArray();
    }

    /// <summary>Samples in the data set.</summary>
    public int Count { get; }

    /// <summary>Values per sample (784 for MNIST).</summary>
    public int Features { get; }

    public int BatchSize { get; }
    public bool Shuffle { get; }
    public Generator Generator { get; }
    public DType DType { get; }
    public double Mean { get; }
    public double Std { get; }
    public Device Device => _images.Device;

    /// <summary>Batches per epoch, the last one possibly smaller (len(loader)).</summary>
    public int BatchCount => (Count + BatchSize - 1) / BatchSize;

    /// <summary>One epoch. With shuffling, the permutation is drawn and uploaded here, once per epoch.</summary>
    public IEnumerator<(Tensor X, Tensor Y)> GetEnumerator()
    {
        if (Shuffle) _order.CopyFrom<int>(Generator.Permutation(Count));
        var backend = Device.BackendFor(DType);
        foreach (var indices in _batchIndices)
        {
            var (x, y) = BatchBuffers(indices.Shape[0]);
            backend.GatherNormalize(_images, _labels, indices, x, y, Mean, Std);
            yield return (x, y);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private (Tensor X, Tensor Y) BatchBuffers(int size)
    {
        if (!_batches.TryGetValue(size, out var buffers))
        {
            buffers = (Tensor.Empty([size, Features], DType, Device), Tensor.Empty([size], DType.Int32, Device));
            _batches[size] = buffers;
        }
        return buffers;
    }

    public void Dispose()
    {
        foreach (var (x, y) in _batches.Values)
        {
            x.Dispose();
            y.Dispose();
        }
        _batches.Clear();
        _order.Dispose();
        _images.Dispose();
        _labels.Dispose();
    }
}
