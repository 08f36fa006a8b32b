namespace CudaNn.Nn;

/// <summary>
/// What a module's latest Forward left for its Backward: nothing yet, nothing (it ran under GradMode.NoGrad()), one
/// pass ready, or a pass already taken. A second Backward for one Forward is refused, as PyTorch refuses to "backward
/// through the graph a second time", instead of adding the same gradients again; a Forward and Backward pair per
/// micro-batch accumulates as before.
/// </summary>
internal struct BackwardGuard
{
    private State _state;

    private enum State { NoForward, NoGrad, Ready, Taken }

    /// <summary>Records a Forward, which keeps something for Backward only with gradients on.</summary>
    public void Forward(bool grad) => _state = grad ? State.Ready : State.NoGrad;

    /// <summary>Throws, naming <paramref name="module"/>, unless a Forward's pass is ready for Backward.</summary>
    public readonly void ThrowIfUnavailable(string module)
    {
        switch (_state)
        {
            case State.NoForward:
                throw new InvalidOperationException($"{module}.Backward called before Forward");
            case State.NoGrad:
                throw new InvalidOperationException($"{module}.Backward: the latest Forward ran under GradMode.NoGrad(), which keeps nothing for Backward");
            case State.Taken:
                throw new InvalidOperationException(
                    $"{module}.Backward called a second time for one Forward: its gradients were added already, and would be added again " +
                    "(PyTorch raises \"Trying to backward through the graph a second time\"); run Forward again first");
        }
    }

    /// <summary>Marks the pass as taken by a Backward.</summary>
    public void Take() => _state = State.Taken;

    /// <summary>Forgets the latest Forward (its buffers were released).</summary>
    public void Reset() => _state = State.NoForward;
}
