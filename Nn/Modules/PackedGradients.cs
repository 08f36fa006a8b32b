namespace CudaNn.Nn;

/// <summary>
/// The gradients of parameters an optimizer packed into one flat buffer, and the one place that turns the cleared ones
/// (zero_grad's set_to_none, <see cref="Parameter.ClearGrad"/>) into zeros when they are read. A backward asks each
/// <see cref="Parameter"/> whether to write or add (<see cref="Parameter.GradForBackward"/>); whatever reads the
/// gradients (an optimizer's step, clipping, an all-reduce over ranks, <see cref="Parameter.Grad"/>) asks for
/// <see cref="Read"/>, so a parameter no backward reached holds zeros there. It still has no gradient
/// (<see cref="Parameter.HasGrad"/>), so the optimizer skips it.
/// </summary>
internal sealed class PackedGradients
{
    private readonly IReadOnlyList<Parameter> _parameters;

    /// <summary>Packs nothing itself: <paramref name="flat"/> already holds every parameter's gradient, in list order.</summary>
    public PackedGradients(IReadOnlyList<Parameter> parameters, Tensor flat, string owner)
    {
        (_parameters, Flat, Owner) = (parameters, flat, owner);
        foreach (var p in parameters) p.Packing = this;
    }

    /// <summary>Every gradient, one flat view, whatever its state: for writing, or after <see cref="Read"/>.</summary>
    public Tensor Flat { get; }

    /// <summary>What packed them ("Adam"), for messages.</summary>
    public string Owner { get; }

    /// <summary>
    /// Every gradient, one flat view, with each one stale since ZeroGrad filled with zeros first: adjacent ones
    /// in one launch (the whole buffer when no backward wrote any), none when every gradient was written.
    /// </summary>
    public Tensor Read()
    {
        int i = 0;
        while (i < _parameters.Count)
        {
            if (!_parameters[i].GradIsStale)
            {
                i++;
                continue;
            }
            // Neighbours in the list are neighbours in the buffer, up to the zeros the packing leaves between them,
            // which are filled along with them.
            var first = _parameters[i].GradStorage;
            long count = 0;
            int end = i;
            while (end < _parameters.Count && _parameters[end].GradIsStale && _parameters[end].GradStorage is var g &&
                   ReferenceEquals(g.Storage, first.Storage) && g.Offset == Optim.ParameterPacking.Aligned(first.Offset + count, g.DType))
            {
                count = g.Offset + g.Numel - first.Offset;
                _parameters[end].NoteZeroedByOwner();
                end++;
            }
            var run = count == Flat.Numel ? Flat : Tensor.SharedView(first.Storage, first.Offset, [checked((int)count)]);
            run.Backend.Fill(run, 0.0);
            i = end;
        }
        return Flat;
    }

    /// <summary>Lets the parameters go (the optimizer is disposed): each zeroes its own gradient again, and may move.</summary>
    public void Release()
    {
        foreach (var p in _parameters)
            if (ReferenceEquals(p.Packing, this)) p.Packing = null;
    }
}
