using System.Runtime.InteropServices;

namespace CudaNn.Cuda;

/// <summary>Typed conveniences over <see cref="IComputeDevice"/>; every implementation gets them for free.</summary>
internal static class ComputeDeviceExtensions
{
    /// <summary>Allocates room for <paramref name="count"/> elements of <typeparamref name="T"/>.</summary>
    public static unsafe DevicePtr Allocate<T>(this IComputeDevice device, long count) where T : unmanaged =>
        device.Allocate(checked(count * sizeof(T)));

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> (synchronous).</summary>
    public static void Upload<T>(this IComputeDevice device, DevicePtr destination, ReadOnlySpan<T> source) where T : unmanaged =>
        device.CopyHostToDevice(destination, MemoryMarshal.AsBytes(source));

    /// <summary>Fills <paramref name="destination"/> from device memory at <paramref name="source"/> (synchronous).</summary>
    public static void Download<T>(this IComputeDevice device, Span<T> destination, DevicePtr source) where T : unmanaged =>
        device.CopyDeviceToHost(MemoryMarshal.AsBytes(destination), source);

    /// <summary>Launches the kernel named <paramref name="kernelName"/> with packed arguments.</summary>
    public static void Launch(this IComputeDevice device, IDeviceStream stream, string kernelName, LaunchConfig config, KernelArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(arguments);
        device.Launch(stream, device.GetKernel(kernelName), config, arguments.Pointers);
    }
}
