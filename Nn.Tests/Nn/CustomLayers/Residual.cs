using CudaNn.Nn;

namespace CudaNn.Tests.Nn.CustomLayers;

/// <summary>y = x + inner(x), a residual block written outside CudaNn through the module seam (the README's sample).</summary>
public sealed class Residual(Module inner) : Module
{
    private readonly ShapeBuffers _outputs = new();    // one buffer per shape: what a captured graph writes stays put
    private readonly ShapeBuffers _gradInputs = new();
    private Tensor? _input;

    public override IEnumerable<(string Name, Module Module)> NamedChildren() => [("inner", inner)];

    public override Tensor Forward(Tensor input)
    {
        ThrowIfDisposed();
        var branch = inner.Forward(input);
        if (!branch.Shape.SequenceEqual(input.Shape))
            throw new ArgumentException($"Residual: inner maps {Tensor.ShapeText(input.Shape)} to {Tensor.ShapeText(branch.Shape)}");
        var y = _outputs.Get(input.Shape, input);
        input.Backend.Copy(input, y);
        input.Backend.Axpy(1.0, branch, y);                // y = x + inner(x)
        y.RequiresGrad = GradMode.IsEnabled;
        _input = GradMode.IsEnabled ? input : null;
        return y;
    }

    public override Tensor? Backward(Tensor gradOutput)
    {
        ThrowIfDisposed();
        var x = _input ?? throw new InvalidOperationException("Residual.Backward needs a Forward with gradients first");
        var branchGrad = inner.Backward(gradOutput);       // adds inner's parameter gradients
        if (!x.RequiresGrad) return null;
        var dx = _gradInputs.Get(x.Shape, x);
        x.Backend.Copy(gradOutput, dx);
        if (branchGrad is not null) x.Backend.Axpy(1.0, branchGrad, dx);   // dx = dy + inner'(x)ᵀ dy
        return dx;
    }

    protected override void ReleaseBuffers()
    {
        _outputs.Clear();
        _gradInputs.Clear();
        _input = null;
    }
}
