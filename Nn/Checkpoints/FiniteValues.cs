using System.Numerics;

namespace CudaNn.Checkpoints;

/// <summary>Refuses a tensor read from a file that holds a NaN or an infinity, naming it and the first such element's position.</summary>
internal static class FiniteValues
{
    /// <summary>
    /// The tensor <paramref name="name"/> as a host tensor of <paramref name="like"/>'s shape and dtype (float32 or float64),
    /// its shape checked, and its values checked finite unless <paramref name="allowNonFinite"/>.
    /// </summary>
    public static Tensor Read(SafetensorsFile file, string name, Tensor like, bool allowNonFinite) =>
        Read(file, name, like.Shape.ToArray(), like.DType, allowNonFinite);

    /// <summary>As above, for a tensor of <paramref name="shape"/> and <paramref name="dtype"/>.</summary>
    public static Tensor Read(SafetensorsFile file, string name, int[] shape, DType dtype, bool allowNonFinite)
    {
        long[] longShape = shape.Select(d => (long)d).ToArray();
        if (dtype == DType.Float64)
        {
            double[] doubles = file.GetDoubles(name, longShape);
            if (!allowNonFinite) Check<double>(file.Source, name, longShape, doubles);
            return Tensor.FromArray(doubles, shape);
        }
        float[] floats = file.GetFloats(name, longShape);
        if (!allowNonFinite) Check<float>(file.Source, name, longShape, floats);
        return Tensor.FromArray(floats, shape);
    }

    /// <summary>Throws <see cref="CheckpointFormatException"/> ("fc1.weight holds NaN at [3, 17]") at the first non-finite value.</summary>
    public static void Check<T>(string source, string name, IReadOnlyList<long> shape, ReadOnlySpan<T> values) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
            if (!T.IsFinite(values[i]))
                throw new CheckpointFormatException(source,
                    $"{name} holds {(T.IsNaN(values[i]) ? "NaN" : T.IsPositive(values[i]) ? "+Infinity" : "-Infinity")} at [{string.Join(", ", Position(shape, i))}]; " +
                    "weights and optimizer state must be finite");
    }

    /// <summary>The row-major coordinates of flat index <paramref name="index"/> in <paramref name="shape"/>.</summary>
    private static long[] Position(IReadOnlyList<long> shape, long index)
    {
        if (shape.Count == 0) return [];
        var position = new long[shape.Count];
        for (int d = shape.Count - 1; d >= 0; d--)
        {
            position[d] = index % shape[d];
            index /= shape[d];
        }
        return position;
    }
}
