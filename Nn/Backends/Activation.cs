namespace CudaNn.Backends;

/// <summary>An elementwise activation; its backward is computed from the forward's OUTPUT y.</summary>
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
}
