using System.Runtime.CompilerServices;
using CudaNn.Cuda;

namespace CudaNn.Kernels;

/// <summary>Loads kernels.cu onto a real GPU once per <see cref="CudaComputeDevice"/>, through the image cache.</summary>
internal static class KernelModuleLoader
{
    private static readonly ConditionalWeakTable<CudaComputeDevice, KernelImage> Loaded = [];
    private static readonly Lock Gate = new();

    /// <summary>
    /// The image loaded on <paramref name="device"/>: compiled by NVRTC (or read from <paramref name="cache"/>,
    /// by default <see cref="KernelImageCache.Default"/>) and loaded on the first call, remembered after.
    /// </summary>
    public static KernelImage EnsureLoaded(CudaComputeDevice device, KernelImageCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (Gate)
        {
            if (Loaded.TryGetValue(device, out KernelImage? image))
                return image;
            image = (cache ?? KernelImageCache.Default()).GetOrCompile(NvrtcCompiler.Load(), device.Device.ComputeCapability);
            device.LoadModule(image.Image);
            Loaded.Add(device, image);
            return image;
        }
    }
}
