namespace CudaNn.Kernels;

/// <summary>The activation fused into <see cref="DeviceKernels.BiasActivationForward"/> (values as kernels.cu numbers them).</summary>
internal enum KernelActivation
{
    /// <summary>y = x.</summary>
    Identity = 0,

    /// <summary>y = max(x, 0).</summary>
    ReLU = 1,

    /// <summary>y = 1 / (1 + exp(-x)).</summary>
    Sigmoid = 2,

    /// <summary>y = tanh(x).</summary>
    Tanh = 3,

    /// <summary>y = x Φ(x) (the bias epilogue only: the fused MLP kernels take the four above).</summary>
    GELU = 4,

    /// <summary>y = x / (1 + exp(-x)) (the bias epilogue only).</summary>
    SiLU = 5,
}
