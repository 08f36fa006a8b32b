using CudaNn.Cuda;
using CudaNn.Kernels;
using CudaNn.Kernels.Emulation;

namespace CudaNn.Backends.Cuda;

/// <summary>
/// The process's GPU devices, opened on first use and kept for the life of the process (as PyTorch keeps
/// its CUDA contexts): kernels.cu is compiled (or read from the cache) and loaded once per device.
/// </summary>
public static class CudaDevices
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, CudaDevice> Opened = [];
    private static CudaDevice? _emulator;

    /// <summary>The CUDA device with this ordinal; throws <see cref="CudaUnavailableException"/> saying why there is none.</summary>
    public static CudaDevice Cuda(int ordinal = 0)
    {
        lock (Gate)
        {
            if (Opened.TryGetValue(ordinal, out var open)) return open;
            if (!CudaGpu.TryGet(ordinal, out var device, out string? reason))
                throw new CudaUnavailableException($"cuda:{ordinal} is not usable: {reason}");
            var compute = new CudaComputeDevice(device);
            try
            {
                var gpu = new CudaDevice(compute, new DeviceKernels(compute), $"cuda:{ordinal}", DeviceKind.Cuda);
                Opened[ordinal] = gpu;
                return gpu;
            }
            catch
            {
                compute.Dispose();
                throw;
            }
        }
    }

    /// <summary>Whether CUDA device 0 is usable, without opening it; <paramref name="reason"/> says why not.</summary>
    public static bool IsCudaUsable(out string? reason)
    {
        bool usable = CudaGpu.TryGet(out _, out reason);
        return usable;
    }

    /// <summary>The host emulator: the CUDA backend and kernels.cu running on the CPU (built with g++ on first use).</summary>
    public static CudaDevice Emulator()
    {
        lock (Gate)
        {
            if (_emulator is not null) return _emulator;
            var compute = new EmulatedComputeDevice(KernelSource.Text);
            try
            {
                _emulator = new CudaDevice(compute, new DeviceKernels(compute), "emulator", DeviceKind.Emulator);
                return _emulator;
            }
            catch
            {
                compute.Dispose();
                throw;
            }
        }
    }
}
