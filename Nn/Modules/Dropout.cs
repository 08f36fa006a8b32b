namespace CudaNn.Nn;

/// <summary>
/// torch.nn.Dropout(p): in training mode each element is zeroed with probability p and the rest are scaled by
/// 1 / (1 - p); in evaluation mode, or with p = 0, the input passes through untouched (the same tensor, as PyTorch
/// returns it).
/// <code>new Sequential(new Linear(784, 128), new ReLU(), new Dropout(0.2), new Linear(128, 10))</code>
/// The masks come from <see cref="Philox"/> keyed by this layer's <see cref="Seed"/> and a count of the masks drawn so
/// far (<see cref="Calls"/>). The count lives on the device beside the input and the kernel advances it itself, so a
/// training step captured as a CUDA graph draws a fresh mask at every replay, a run is reproducible from its seed, and
/// the CPU backend draws exactly the masks a GPU draws.
/// </summary>
public sealed class Dropout : Module
{
    private readonly ShapeBuffers _outputs = new();
    private readonly ShapeBuffers _noises = new();
    private readonly ShapeBuffers _gradInputs = new();
    private ulong _seed;
    private ulong _calls;
    private Tensor? _rng; // {seed lo, seed hi, calls lo, calls hi} on the device of the latest input; null until then
    private Tensor? _noise;
    private bool _passedThrough;
    private bool _inputRequiresGrad;
    private BackwardGuard _backward;

    /// <param name="p">The probability of zeroing an element, in [0, 1].</param>
    /// <param name="generator">Draws this layer's seed (<see cref="Generator.Default"/> when null), so a model built from a seeded generator drops reproducibly.</param>
    public Dropout(double p = 0.5, Generator? generator = null)
        : this(p, (generator ?? Generator.Default).NextUInt64())
    {
    }

    public Dropout(double p, ulong seed)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability has to be between 0 and 1");
        P = p;
        _seed = seed;
    }

    /// <summary>The probability of zeroing an element.</summary>
    public double P { get; }

    /// <summary>The key of this layer's masks.</summary>
    public ulong Seed => _seed;

    /// <summary>Masks drawn so far; the next Forward in training uses this number. Reading it waits for the device.</summary>
    public ulong Calls
    {
        get
        {
            if (_rng is null || _rng.IsDisposed) return _calls;
            var words = _rng.ToArray<int>();
            return (uint)words[2] | (ulong)(uint)words[3] << 32;
        }
    }

    /// <summary>
    /// Restarts the masks from <paramref name="seed"/> after <paramref name="calls"/> masks, as a checkpoint restores them.
    /// A captured graph keeps working: it reads both from device memory.
    /// </summary>
    public void SetRngState(ulong seed, ulong calls)
    {
        ThrowIfDisposed();
        (_seed, _calls) = (seed, calls);
        if (_rng is not null && !_rng.IsDisposed) _rng.CopyFrom<int>(Words(seed, calls));
    }

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        input.ThrowIfUnusable();
        bool grad = GradMode.IsEnabled;
        _backward.Forward(grad);
        _inputRequiresGrad = input.RequiresGrad && grad;
        _passedThrough = !Training || P == 0 || input.Numel == 0;
        _noise = null;
        if (_passedThrough) return input;
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"Dropout needs floating-point input, got {input}");
        var y = _outputs.Get(input.Shape, input);
        var noise = _noises.Get(input.Shape, input);
        input.Backend.DropoutForward(input, y, noise, RngOn(input.Device), P);
        y.RequiresGrad = _inputRequiresGrad;
        if (grad) _noise = noise;
        return y;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        _backward.ThrowIfUnavailable("Dropout");
        if (!_inputRequiresGrad || _passedThrough)
        {
            _backward.Take();
            return _inputRequiresGrad ? gradOutput : null;
        }
        var noise = _noise!;
        if (!gradOutput.Shape.SequenceEqual(noise.Shape))
            throw new ArgumentException($"Dropout backward expects {Tensor.ShapeText(noise.Shape)}, got {Tensor.ShapeText(gradOutput.Shape)}");
        _backward.Take();
        var dx = _gradInputs.Get(noise.Shape, noise);
        noise.Backend.Multiply(gradOutput, noise, dx);
        return dx;
    }

    /// <summary>The generator state on <paramref name="device"/>, moved there (with the count so far) when the input moved.</summary>
    private Tensor RngOn(Device device)
    {
        if (_rng is not null && !_rng.IsDisposed && _rng.Device == device) return _rng;
        SaveAndFreeRng();
        _rng = Tensor.FromArray(Words(_seed, _calls), [4], device);
        return _rng;
    }

    private static int[] Words(ulong seed, ulong calls) =>
        [(int)(uint)seed, (int)(uint)(seed >> 32), (int)(uint)calls, (int)(uint)(calls >> 32)];

    private void SaveAndFreeRng()
    {
        if (_rng is null) return;
        if (!_rng.IsDisposed) _calls = Calls;
        _rng.Dispose();
        _rng = null;
    }

    /// <summary>Buffers go; the count of masks drawn stays (it is read back to the host first).</summary>
    protected override void ReleaseBuffers()
    {
        _outputs.Clear();
        _noises.Clear();
        _gradInputs.Clear();
        _noise = null;
        _backward.Reset();
        SaveAndFreeRng();
    }

    public override string ToString() => $"Dropout(p={P.ToString(System.Globalization.CultureInfo.InvariantCulture)}, inplace=False)";
}
