using CudaNn.Backends;

namespace CudaNn.Tests.TestSupport;

/// <summary>The activations every activation test runs: each one a model is built with, the identity, and leaky ReLU with a slope of its own and a negative one.</summary>
internal static class TestActivations
{
    public static IReadOnlyList<Activation> All { get; } =
        [Activation.Identity, .. Activation.Nonlinear, Activation.LeakyReLU(0.2), Activation.LeakyReLU(-1.5)];
}
