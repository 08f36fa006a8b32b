namespace CudaNn.Data;

public sealed partial class DataLoader
{
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
