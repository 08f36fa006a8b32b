namespace CudaNn;

public sealed partial class Tensor
{
    /// <summary>A new tensor of zeros (torch.zeros).</summary>
    public static Tensor Zeros(ReadOnlySpan<int> shape, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Storage.Clear(t.Offset, t.Numel);
        return t;
    }

    /// <summary>A new tensor whose elements are not initialised (torch.empty); on the CPU they are zero.</summary>
    public static Tensor Empty(ReadOnlySpan<int> shape, DType dtype = DType.Float32, Device? device = null)
    {
        device ??= Device.Cpu;
        long numel = 1;
        foreach (int d in shape) numel = checked(numel * Math.Max(d, 0));
        return new Tensor(device.Allocate(dtype, numel), 0, shape.ToArray(), ownsStorage: true);
    }

    /// <summary>A new tensor holding a copy of <paramref name="data"/> (torch.tensor).</summary>
    public static Tensor FromArray<T>(T[] data, ReadOnlySpan<int> shape, Device? device = null) where T : unmanaged
    {
        var t = Empty(shape, DTypeExtensions.Of<T>(), device);
        t.CopyFrom<T>(data);
        return t;
    }

    /// <summary>A copy of this tensor on <paramref name="device"/> (torch.Tensor.to).</summary>
    public Tensor To(Device device)
    {
        var copy = Empty(Shape, DType, device);
        byte[] bytes = new byte[Numel * DType.Size()];
        Storage.CopyToHost(Offset, bytes);
        copy.Storage.CopyFromHost(bytes, 0);
        copy.RequiresGrad = RequiresGrad;
        return copy;
    }
}
