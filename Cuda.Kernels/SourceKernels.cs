using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;

namespace CudaNn.Kernels;

/// <summary>
/// Kernels from a CUDA source other than kernels.cu (a user's): compiled by NVRTC for a GPU, through the image cache
/// beside kernels.cu's, with kernels.cu's options; built by g++ for the emulator, as kernels.cu is there, access checks
/// included. Each source is compiled once per device and options.
/// </summary>
internal static class SourceKernels
{
    private static readonly Dictionary<(IComputeDevice Device, string Source, string Program, string Name), IDeviceKernel> Loaded = [];
    private static readonly Lock Gate = new();

    /// <summary>The function <paramref name="name"/> of <paramref name="source"/> on <paramref name="device"/>.</summary>
    public static IDeviceKernel Load(IComputeDevice device, string source, string programName, string name)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (Gate)
        {
            var key = (device, source, programName, name);
            if (Loaded.TryGetValue(key, out var kernel)) return kernel;
            kernel = device switch
            {
                EmulatedComputeDevice emulator => emulator.LoadSource(source, programName, name),
                CudaComputeDevice gpu => LoadOnGpu(gpu, source, programName, name),
                _ => throw new NotSupportedException($"{device.Name} cannot compile CUDA sources"),
            };
            Loaded[key] = kernel;
            return kernel;
        }
    }

    private static IDeviceKernel LoadOnGpu(CudaComputeDevice gpu, string source, string programName, string name)
    {
        var nvrtc = NvrtcCompiler.Load();
        var image = KernelImageCache.Default().GetOrCompile(nvrtc, KernelTarget.For(gpu.Device.ComputeCapability, nvrtc.SupportedArchitectures),
            source, programName, KernelSource.CompileOptions);
        var module = gpu.LoadModule(image.Image);
        return module.TryGetKernel(name, out CudaKernel? kernel) ? kernel
            : throw new KeyNotFoundException($"{programName} has no extern \"C\" __global__ function named '{name}'.");
    }
}
