using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>
/// Moves a list of parameters into one flat value buffer and one flat gradient buffer (in list order), so an optimizer
/// step is one pass over contiguous memory (on a GPU, one launch), and gradients still cleared when it runs are zeroed
/// by one fill. Each parameter starts on a multiple of <see cref="AlignmentBytes"/>, with zeros between: cuBLASLt takes
/// a bias's alignment from its address, and a GEMM's operands load fastest aligned.
/// </summary>
internal static class ParameterPacking
{
    /// <summary>Where each parameter starts, in bytes from the buffer's start: a multiple of this.</summary>
    public const int AlignmentBytes = 16;

    /// <summary>Each parameter's first element in the flat buffers, counted from their start, in list order.</summary>
    public static long[] Offsets(IReadOnlyList<Parameter> parameters)
    {
        var offsets = new long[parameters.Count];
        long next = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            offsets[i] = Aligned(next, parameters[i].Value.DType);
            next = offsets[i] + parameters[i].Numel;
        }
        return offsets;
    }

    /// <summary><paramref name="offset"/> (in elements) rounded up to the next multiple of <see cref="AlignmentBytes"/>.</summary>
    public static long Aligned(long offset, DType dtype)
    {
        int unit = Math.Max(1, AlignmentBytes / dtype.Size());
        return (offset + unit - 1) / unit * unit;
    }

    /// <summary>Packs the parameters unless they already are, and returns flat views of all values and all gradients.</summary>
    public static (Tensor Values, Tensor Grads) Pack(IReadOnlyList<Parameter> parameters)
    {
        if (parameters.Count == 0) throw new ArgumentException("the optimizer got an empty parameter list");
        var first = parameters[0].Value;
        foreach (var p in parameters)
            if (p.Value.Device != first.Device || p.Value.DType != first.DType)
                throw new ArgumentException($"all parameters of one optimizer must share device and dtype: {parameters[0]} and {p}");
        if (parameters.Distinct().Count() != parameters.Count)
            throw new ArgumentException("a parameter appears more than once in the optimizer's list");

        long[] offsets = Offsets(parameters);
        long total = offsets[^1] + parameters[^1].Numel;
        if (!IsPacked(parameters, offsets, p => p.Value) || !IsPacked(parameters, offsets, p => p.GradStorage))
            Repack(parameters, offsets, total);
        return (Flat(parameters[0].Value, total), Flat(parameters[0].GradStorage, total));
    }

    private static bool IsPacked(IReadOnlyList<Parameter> parameters, long[] offsets, Func<Parameter, Tensor> select)
    {
        var storage = select(parameters[0]).Storage;
        long start = select(parameters[0]).Offset;
        if (start != Aligned(start, parameters[0].Value.DType)) return false;
        for (int i = 0; i < parameters.Count; i++)
        {
            var t = select(parameters[i]);
            if (!ReferenceEquals(t.Storage, storage) || t.Offset != start + offsets[i]) return false;
        }
        return true;
    }

    private static void Repack(IReadOnlyList<Parameter> parameters, long[] offsets, long total)
    {
        var device = parameters[0].Value.Device;
        var dtype = parameters[0].Value.DType;
        var backend = device.BackendFor(dtype);
        using var values = new Tensor(device.Allocate(dtype, total), 0, [checked((int)total)], ownsStorage: true);
        using var grads = new Tensor(device.Allocate(dtype, total), 0, [checked((int)total)], ownsStorage: true);
        // The gaps stay zero: the optimizer's step and clipping run over them.
        backend.Fill(values, 0.0);
        backend.Fill(grads, 0.0);
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var value = Tensor.SharedView(values.Storage, offsets[i], p.Shape);
            var grad = Tensor.SharedView(grads.Storage, offsets[i], p.Shape);
            backend.Copy(p.Value, value);
            backend.Copy(p.GradStorage, grad);
            p.Rebind(value, grad);
        }
    }

    private static Tensor Flat(Tensor first, long total) =>
        Tensor.SharedView(first.Storage, first.Offset, [checked((int)total)]);
}
