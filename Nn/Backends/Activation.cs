namespace CudaNn.Backends;

/// <summary>
/// An elementwise activation. Its backward is computed from the forward's OUTPUT y, except for GELU and SiLU, whose
/// derivative needs the INPUT x (see <see cref="ActivationExtensions.BackwardReadsInput"/>).
/// </summary>
public enum Activation
{
    /// <summary>y = x.</summary>
    Identity,

    /// <summary>y = max(x, 0); dx = dy * (y > 0).</summary>
    ReLU,

    /// <summary>y = 1 / (1 + exp(-x)); dx = dy * y * (1 - y).</summary>
    Sigmoid,

    /// <summary>y = tanh(x); dx = dy * (1 - y^2).</summary>
    Tanh,

    /// <summary>y = x Φ(x), Φ the standard normal CDF (torch.nn.GELU, approximate='none'); dx = dy * (Φ(x) + x φ(x)) from x.</summary>
    GELU,

    /// <summary>y = x / (1 + exp(-x)) (torch.nn.SiLU); dx = dy * s (1 + x (1 - s)), s = sigmoid(x), from x.</summary>
    SiLU,
}

internal static class ActivationExtensions
{
    /// <summary>True when <see cref="Backend.ActivationBackward"/> takes the forward's input x rather than its output y.</summary>
    public static bool BackwardReadsInput(this Activation activation) => activation is Activation.GELU or Activation.SiLU;
}
