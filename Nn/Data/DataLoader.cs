using System.Collections;

namespace CudaNn.Data;

/// <summary>
/// Batches of a data set held on a device (torch.utils.data.DataLoader), gathered there, so the data cross to a GPU
/// once, not once per epoch. Two kinds of data: uint8 images with uint8 labels (MNIST with Normalize((0.5,), (0.5,)):
/// each batch is gathered and normalised, x = (byte / 255 - mean) / std), and any <see cref="TensorDataset"/> (float
/// features with float targets or int32 labels, rows gathered as they are, see <see cref="FromDataset"/>).
/// Shuffling draws a new permutation from the generator at the start of every epoch; the last, smaller batch is kept
/// unless <see cref="DropLast"/>. The yielded tensors are buffers reused by the next batch of the same size.
/// <code>foreach (var (x, y) in loader) { ... }   // x [B, 784] float32, y [B] int32</code>
/// </summary>
public sealed class DataLoader : IEnumerable<(Tensor X, Tensor Y)>, IDisposable
{
    private readonly Tensor _features;
    private readonly Tensor _targets;
    private readonly bool _normalizeBytes;
    private readonly Tensor _order;
    private readonly Tensor[] _batchIndices;
    private readonly Dictionary<int, (Tensor X, Tensor Y)> _batches = [];

    /// <param name="images">uint8 [M, ...], one row per sample; the loader takes ownership.</param>
    /// <param name="labels">uint8 [M]; the loader takes ownership.</param>
    /// <param name="shard">This rank's share of every epoch in a data-parallel job; null: every sample.</param>
    public DataLoader(Tensor images, Tensor labels, int batchSize, bool shuffle = false, Generator? generator = null,
        DType dtype = DType.Float32, double mean = 0.5, double std = 0.5, bool dropLast = false, DistributedShard? shard = null)
        : this(RequireBytes(images, labels, std), labels, batchSize, shuffle, generator, dtype, dropLast, normalizeBytes: true, shard)
    {
        Mean = mean;
        Std = std;
    }

    private static Tensor RequireBytes(Tensor images, Tensor labels, double std)
    {
        if (images.DType != DType.UInt8 || labels.DType != DType.UInt8)
            throw new ArgumentException($"DataLoader takes uint8 images and labels, got {images} and {labels}");
        if (labels.Rank != 1)
            throw new ArgumentException($"DataLoader: labels of shape {Tensor.ShapeText(labels.Shape)}; expected one per image");
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "std must be positive");
        return images;
    }

    private DataLoader(Tensor features, Tensor targets, int batchSize, bool shuffle, Generator? generator, DType dtype, bool dropLast, bool normalizeBytes,
        DistributedShard? shard)
    {
        if (features.Rank < 1 || targets.Rank < 1 || targets.Shape[0] != features.Shape[0])
            throw new ArgumentException($"DataLoader: {(features.Rank > 0 ? features.Shape[0] : 0)} {(normalizeBytes ? "images" : "samples")} but " +
                $"{(normalizeBytes ? "labels" : "targets")} of shape {Tensor.ShapeText(targets.Shape)}");
        if (features.Device != targets.Device)
            throw new ArgumentException($"DataLoader: samples on {features.Device.Name} but targets on {targets.Device.Name}");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        _features = features;
        _targets = targets;
        _normalizeBytes = normalizeBytes;
        Count = features.Shape[0];
        Features = Count == 0 ? 0 : (int)(features.Numel / Count);
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Generator = generator ?? new Generator(0);
        DType = dtype;
        Shard = shard;
        SamplesPerEpoch = shard?.Length(Count) ?? Count;
        _order = Tensor.Empty([SamplesPerEpoch], DType.Int32, features.Device);
        int[] identity = Enumerable.Range(0, Count).ToArray();
        _order.CopyFrom<int>(shard is null ? identity : shard.Select(identity));
        // Each batch reads the same slice of the order every epoch: make the views once, not once per step.
        _batchIndices = Enumerable.Range(0, BatchCount)
            .Select(b => _order.Narrow(b * batchSize, Math.Min(batchSize, SamplesPerEpoch - b * batchSize))).ToArray();
    }

    /// <summary>
    /// A loader over <paramref name="data"/>, copied to <paramref name="device"/> once, here: features in
    /// <paramref name="dtype"/>, float targets too, class labels as int32. Each batch is x [B, ...features] and y [B, ...targets].
    /// </summary>
    public static DataLoader FromDataset(TensorDataset data, int batchSize, bool shuffle = false, Generator? generator = null,
        Device? device = null, DType dtype = DType.Float32, bool dropLast = false, DistributedShard? shard = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"DataLoader needs a floating-point dtype, not {dtype.Name()}", nameof(dtype));
        device ??= Device.Cpu;
        using var hostFeatures = Tensor.FromArray(data.Features, data.FeatureShape.ToArray());
        var features = TensorConversion.To(hostFeatures, device, dtype);
        Tensor targets;
        if (data.TargetType == DType.Int32)
        {
            targets = Tensor.FromArray((int[])data.Targets, data.TargetShape.ToArray(), device);
        }
        else
        {
            using var hostTargets = Tensor.FromArray((float[])data.Targets, data.TargetShape.ToArray());
            targets = TensorConversion.To(hostTargets, device, dtype);
        }
        return new DataLoader(features, targets, batchSize, shuffle, generator, dtype, dropLast, normalizeBytes: false, shard);
    }

    /// <summary>Samples in the data set.</summary>
    public int Count { get; }

    /// <summary>This rank's share of each epoch in a data-parallel job; null when the loader yields every sample.</summary>
    public DistributedShard? Shard { get; }

    /// <summary>Samples one epoch yields before <see cref="DropLast"/>: <see cref="Count"/>, or this rank's share of it.</summary>
    public int SamplesPerEpoch { get; }

    /// <summary>Values per sample (784 for MNIST).</summary>
    public int Features { get; }

    public int BatchSize { get; }
    public bool Shuffle { get; }

    /// <summary>Whether the last batch is dropped when it is smaller than <see cref="BatchSize"/> (drop_last).</summary>
    public bool DropLast { get; }

    public Generator Generator { get; }
    public DType DType { get; }

    /// <summary>The normalisation of uint8 images; 0 and 1 for a <see cref="TensorDataset"/>, whose features are used as they are.</summary>
    public double Mean { get; } = 0;

    /// <inheritdoc cref="Mean"/>
    public double Std { get; } = 1;

    public Device Device => _features.Device;

    /// <summary>Batches per epoch (len(loader)): the last one smaller, or dropped with <see cref="DropLast"/>.</summary>
    public int BatchCount => DropLast ? SamplesPerEpoch / BatchSize : (SamplesPerEpoch + BatchSize - 1) / BatchSize;

    /// <summary>
    /// One epoch. With shuffling, the permutation of the whole data set is drawn here, once per epoch (every rank of a
    /// job draws the same one from the same seed), and this rank's share of it is uploaded.
    /// </summary>
    public IEnumerator<(Tensor X, Tensor Y)> GetEnumerator()
    {
        if (Shuffle)
        {
            int[] permutation = Generator.Permutation(Count);
            _order.CopyFrom<int>(Shard is null ? permutation : Shard.Select(permutation));
        }
        var backend = Device.BackendFor(DType);
        foreach (var indices in _batchIndices)
        {
            var (x, y) = BatchBuffers(indices.Shape[0]);
            if (_normalizeBytes)
            {
                backend.GatherNormalize(_features, _targets, indices, x, y, Mean, Std);
            }
            else
            {
                backend.GatherRows(_features, indices, x);
                backend.GatherRows(_targets, indices, y);
            }
            yield return (x, y);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private (Tensor X, Tensor Y) BatchBuffers(int size)
    {
        if (!_batches.TryGetValue(size, out var buffers))
        {
            int[] xShape = [size, .. _features.Shape[1..]];
            int[] yShape = [size, .. _targets.Shape[1..]];
            buffers = (Tensor.Empty(xShape, DType, Device), Tensor.Empty(yShape, _normalizeBytes ? DType.Int32 : _targets.DType, Device));
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
        _features.Dispose();
        _targets.Dispose();
    }

    /// <summary>A loader over an MNIST split; its bytes are copied to <paramref name="device"/> once, here.</summary>
    public static DataLoader FromMnist(MnistDataSet data, int batchSize, bool shuffle = false, Generator? generator = null,
        Device? device = null, DType dtype = DType.Float32, bool dropLast = false, DistributedShard? shard = null)
    {
        device ??= Device.Cpu;
        var images = Tensor.FromArray(data.Images, [data.Count, data.ImageSize], device);
        var labels = Tensor.FromArray(data.Labels, [data.Count], device);
        return new DataLoader(images, labels, batchSize, shuffle, generator, dtype, dropLast: dropLast, shard: shard);
    }
}
