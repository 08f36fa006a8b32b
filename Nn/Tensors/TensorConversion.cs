namespace CudaNn;

/// <summary>Copies a tensor to another device and/or dtype (torch.Tensor.to).</summary>
internal static class TensorConversion
{
    public static Tensor To(Tensor source, Device? device, DType? dtype)
    {
        var targetDevice = device ?? source.Device;
        var targetType = dtype ?? source.DType;
        if (targetType == source.DType) return source.To(targetDevice);
        if (!source.DType.IsFloatingPoint() || !targetType.IsFloatingPoint())
            throw new NotSupportedException($"conversion from {source.DType.Name()} to {targetType.Name()}");
        var result = Tensor.Empty(source.Shape, targetType, targetDevice);
        if (targetType == DType.Float64)
            result.CopyFrom<double>(Array.ConvertAll(source.ToArray<float>(), v => (double)v));
        else
            result.CopyFrom<float>(Array.ConvertAll(source.ToArray<double>(), v => (float)v));
        result.RequiresGrad = source.RequiresGrad;
        return result;
    }
}
