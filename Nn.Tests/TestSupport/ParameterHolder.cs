using CudaNn.Nn;

namespace CudaNn.Tests.TestSupport;

/// <summary>A module that only holds parameters (named p0, p1, ...), for saving and loading them in a checkpoint.</summary>
public sealed class ParameterHolder(Parameter[] parameters) : Module
{
    protected override IEnumerable<(string Name, Parameter Parameter)> OwnParameters() => parameters.Select((p, i) => ($"p{i}", p));

    public override Tensor Forward(Tensor input) => throw new NotSupportedException();

    public override Tensor? Backward(Tensor gradOutput) => throw new NotSupportedException();
}
