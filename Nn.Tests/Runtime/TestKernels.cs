namespace CudaNn.Tests.Runtime;

/// <summary>Small CUDA sources the runtime tests compile; NVRTC has no standard headers, so they include none.</summary>
internal static class TestKernels
{
    public const string ProgramName = "runtime_test_kernels.cu";

    /// <summary>
    /// axpy: y[i] = a * x[i] + y[i] for i &lt; n, through a shared-memory staging buffer (so ptxas reports smem).
    /// spill: a private array large enough that a register cap forces spills.
    /// </summary>
    public const string Source = """
        extern "C" __global__ void axpy(float a, const float* x, float* y, int n)
        {
            __shared__ float staged[256];
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            staged[threadIdx.x] = i < n ? x[i] : 0.0f;
            __syncthreads();
            if (i < n)
                y[i] = a * staged[threadIdx.x] + y[i];
        }

        extern "C" __global__ void spill(float* y)
        {
            float values[200];
            for (int i = 0; i < 200; i++)
                values[i] = y[i * threadIdx.x];
            float sum = 0.0f;
            for (int i = 0; i < 200; i++)
                sum += values[(i * 7) % 200] * values[i];
            y[threadIdx.x] = sum;
        }
        """;

    /// <summary>The same file with an undefined identifier on line 2.</summary>
    public const string BrokenSource = """
        extern "C" __global__ void broken(float* y)
        {
            y[threadIdx.x] = undefined_identifier;
        }
        """;
}
