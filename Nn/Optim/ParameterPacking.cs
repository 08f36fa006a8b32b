using CudaNn.Nn;

namespace CudaNn.Optim;

/// <summary>
/// Moves a list of parameters into one flat value buffer and one flat gradient buffer (in list order),
/// so an optimizer step is one pass over contiguous memory (on a GPU, one launch), and gradients still cleared when it
/// runs are zeroed by one fill.
/// </summary>
internal static class ParameterPacking
{
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

        long total = parameters.Sum(p => p.Numel);
        if (!IsPacked(parameters, p => p.Value) || !IsPacked(parameters, p => p.GradStorage))
            Repack(parameters, total);
        return (Flat(parameters[0].Value, total), Flat(parameters[0].GradStorage, total));
    }

    private static bool IsPacked(IReadOnlyList<Parameter> parameters, Func<Parameter, Tensor> select)
    {
        var storage = select(parameters[0]).Storage;
        long next = select(parameters[0]).Offset;
        foreach (var p in parameters)
        {
            var t = select(p);
            if (!ReferenceEquals(t.Storage, storage) || t.Offset != next) return false;
            next += t.Numel;
        }
        return true;
    }

    private static void Repack(IReadOnlyList<Parameter> parameters, long total)
    {
        var device = parameters[0].Value.Device;
        var dtype = parameters[0].Value.DType;
        var backend = device.BackendFor(dtype);
        using var values = new Tensor(device.Allocate(dtype, total), 0, [checked((int)total)], ownsStorage: true);
        using var grads = new Tensor(device.Allocate(dtype, total), 0, [checked((int)total)], ownsStorage: true);
        long offset = 0;
        foreach (var p in parameters)
        {
            var value = Tensor.SharedView(values.Storage, offset, p.Shape);
            var grad = Tensor.SharedView(grads.Storage, offset, p.Shape);
            backend.Copy(p.Value, value);
            backend.Copy(p.GradStorage, grad);
            p.Rebind(value, grad);
            offset += p.Numel;
        }
    }

    private static Tensor Flat(Tensor first, long total) =>
        Tensor.SharedView(first.Storage, first.Offset, [checked((int)total)]);
}
