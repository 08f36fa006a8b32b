namespace CudaNn;

/// <summary>
/// Whether Forward prepares for a Backward (torch.is_grad_enabled), per thread as in PyTorch. Evaluation and
/// prediction run under <see cref="NoGrad"/> (torch.no_grad()): layers keep nothing for Backward, losses compute no
/// gradient, and every buffer they write comes from a set kept apart from training's, so inference never touches
/// memory that a captured training step replays into.
/// <code>using (GradMode.NoGrad()) { var logits = model.Forward(x); }</code>
/// </summary>
public static class GradMode
{
    [ThreadStatic]
    private static bool t_disabled;

    /// <summary>True unless inside a <see cref="NoGrad"/> (or <c>Enable(false)</c>) scope on this thread.</summary>
    public static bool IsEnabled => !t_disabled;

    /// <summary>Turns gradients off until the returned scope is disposed (torch.no_grad()).</summary>
    public static Scope NoGrad() => Enable(false);

    /// <summary>Turns gradients on or off until the returned scope is disposed (torch.set_grad_enabled(mode)).</summary>
    public static Scope Enable(bool enabled)
    {
        var scope = new Scope(previouslyEnabled: IsEnabled);
        t_disabled = !enabled;
        return scope;
    }

    /// <summary>Restores the mode that was in force before it began.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _previouslyEnabled;

        internal Scope(bool previouslyEnabled) => _previouslyEnabled = previouslyEnabled;

        public void Dispose() => t_disabled = !_previouslyEnabled;
    }
}
