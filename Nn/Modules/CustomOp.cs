using CudaNn.Backends.Cuda;

namespace CudaNn.Nn;

/// <summary>
/// A layer of your own with one input and one output, written twice: on a GPU or the emulator with kernels of your own
/// (<see cref="RawKernel"/>) or backend operations, and on the host as a plain twin, which
/// <see cref="Verification.GradCheck"/> checks against finite differences in float64 and the device is checked against.
/// The base class does what every layer must (see the README's rules): it keeps the output and the input's gradient in
/// one buffer per shape (so a captured training step replays into them), keeps the input for the backward, marks the
/// output as needing gradients, and refuses a second Backward for one Forward. You write the four passes; a Backward
/// adds the parameter gradients into <see cref="Parameter.Grad"/> and writes the input's gradient.
/// </summary>
public abstract class CustomOp : Module
{
    private readonly ShapeBuffers _outputs = new();
    private readonly ShapeBuffers _gradInputs = new();
    private Tensor? _input;
    private Tensor? _output;
    private BackwardGuard _backward;
    private int[] _shapeIn = [], _shapeOut = [];

    /// <summary>
    /// The output's shape for an input of <paramref name="input"/>; the input's own by default. Throw here for an input
    /// the op does not take. Asked once per input shape (a step at a shape seen before allocates nothing for it).
    /// </summary>
    protected virtual int[] OutputShape(ReadOnlySpan<int> input) => input.ToArray();

    /// <summary>Writes <paramref name="output"/> from <paramref name="input"/> on a GPU or the emulator (both tensors on it).</summary>
    protected abstract void ForwardOnDevice(Tensor input, Tensor output);

    /// <summary>The same on the host (the CPU backends, float32 or float64): the twin the device is checked against.</summary>
    protected abstract void ForwardOnHost(Tensor input, Tensor output);

    /// <summary>Writes <paramref name="gradInput"/> and adds the parameters' gradients, on a GPU or the emulator.</summary>
    protected abstract void BackwardOnDevice(Tensor input, Tensor output, Tensor gradOutput, Tensor gradInput);

    /// <summary>The same on the host.</summary>
    protected abstract void BackwardOnHost(Tensor input, Tensor output, Tensor gradOutput, Tensor gradInput);

    public sealed override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(input);
        if (!input.Shape.SequenceEqual(_shapeIn)) (_shapeIn, _shapeOut) = (input.Shape.ToArray(), OutputShape(input.Shape));
        var output = _outputs.Get(_shapeOut, input);
        if (input.Device is CudaDevice) ForwardOnDevice(input, output);
        else ForwardOnHost(input, output);
        bool grad = GradMode.IsEnabled;
        output.RequiresGrad = grad;
        (_input, _output) = grad ? (input, output) : (null, null);
        _backward.Forward(grad);
        return output;
    }

    public sealed override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(gradOutput);
        _backward.ThrowIfUnavailable(GetType().Name);
        var (x, y) = (_input!, _output!);
        if (!gradOutput.Shape.SequenceEqual(y.Shape))
            throw new ArgumentException($"{GetType().Name}.Backward expects a gradient shaped as its output {Tensor.ShapeText(y.Shape)}, got {Tensor.ShapeText(gradOutput.Shape)}");
        _backward.Take();
        var dx = _gradInputs.Get(x.Shape, x);
        if (x.Device is CudaDevice) BackwardOnDevice(x, y, gradOutput, dx);
        else BackwardOnHost(x, y, gradOutput, dx);
        return x.RequiresGrad ? dx : null;
    }

    protected sealed override void ReleaseBuffers()
    {
        _outputs.Clear();
        _gradInputs.Clear();
        (_input, _output) = (null, null);
        _backward.Reset();
    }
}
