using CudaNn.Backends;

namespace CudaNn.Tests.TestSupport;

/// <summary>The activations every activation test runs: each one a model is built with, and the identity.</summary>
internal static class TestActivations
{
    public static IReadOnlyList<Activation> All { get; } =
        [Activation.Identity, .. Activation.Nonlinear];
}
