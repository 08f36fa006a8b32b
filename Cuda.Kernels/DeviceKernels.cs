using CudaNn.Cuda;

namespace CudaNn.Kernels;

/// <summary>
/// Typed launchers for every kernel of kernels.cu, one method per entry point (ReluForward launches
/// relu_forward), over any <see cref="IComputeDevice"/>: the real GPU or the host emulator. Each launcher checks
/// its arguments, picks grid and block from the sizes (grid-stride kernels: at most one full wave of blocks per
/// multiprocessor), and enqueues on the stream it is given; a launch with nothing to do enqueues nothing.
/// Element counts are <c>long</c>, row and column counts <c>int</c>; float buffers must be 4-byte aligned,
/// and any 4-byte offset works (the kernels vectorise what they can). Use from one thread at a time.
/// </summary>
internal sealed partial class DeviceKernels
{
    /// <summary>Threads per block of the element-wise and reduction kernels.</summary>
    public const int BlockSize = 256;

    // Resident 256-thread blocks per multiprocessor at full occupancy (2048 threads).
    private const int BlocksPerMultiprocessor = 8;

    // Multiprocessors assumed when the device does not say (the emulator): keeps test grids small but multi-block.
    private const int DefaultMultiprocessors = 4;

    private readonly Dictionary<string, IDeviceKernel> kernels = [];
    private readonly KernelArguments arguments = new();
    private readonly int maxBlocks;

    /// <summary>
    /// Launchers over <paramref name="device"/>. On a <see cref="CudaComputeDevice"/> kernels.cu is compiled (or read
    /// from <paramref name="cache"/>) and loaded first; any other device must already know every kernel by name.
    /// Throws <see cref="KeyNotFoundException"/> naming the first kernel the device lacks.
    /// </summary>
    internal DeviceKernels(IComputeDevice device, KernelImageCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
        int multiprocessors = DefaultMultiprocessors;
        if (device is CudaComputeDevice gpu)
        {
            Image = KernelModuleLoader.EnsureLoaded(gpu, cache);
            multiprocessors = gpu.Device.MultiprocessorCount;
        }
        maxBlocks = multiprocessors * BlocksPerMultiprocessor;
        foreach (string name in KernelNames.All)
            kernels[name] = device.GetKernel(name);
    }

    /// <summary>The device the kernels run on.</summary>
    public IComputeDevice Device { get; }

    /// <summary>The NVRTC image loaded on a real GPU; null on other devices.</summary>
    internal KernelImage? Image { get; }

    /// <summary>One thread per <paramref name="workItems"/>, capped at a full wave; kernels stride over the rest.</summary>
    private LaunchConfig GridFor(long workItems, int block = BlockSize)
    {
        long blocks = Math.Clamp((workItems + block - 1) / block, 1, maxBlocks);
        return new LaunchConfig((int)blocks, block);
    }

    /// <summary>Grid-stride element kernels run one float4 per thread.</summary>
    private LaunchConfig ElementGrid(long n) => GridFor((n + 3) / 4);

    private KernelArguments Arguments() => arguments.Clear();

    private void Launch(IDeviceStream stream, string kernel, LaunchConfig config, KernelArguments args) =>
        Device.Launch(stream, kernels[kernel], config.Validated(), args.Pointers);

    private static void CheckStream(IDeviceStream stream) => ArgumentNullException.ThrowIfNull(stream);

    private static void CheckCount(long n, string name)
    {
        if (n < 0)
            throw new ArgumentOutOfRangeException(name, n, $"{name} must not be negative.");
    }

    /// <summary>A buffer that will be read or written: not null, aligned to <paramref name="alignment"/> bytes.</summary>
    private static void CheckBuffer(DevicePtr pointer, string name, int alignment = sizeof(float))
    {
        if (pointer.IsNull)
            throw new ArgumentException($"{name} is a null device pointer.", name);
        if (pointer.Address % (ulong)alignment != 0)
            throw new ArgumentException($"{name} ({pointer}) is not aligned to {alignment} bytes.", name);
    }

    /// <summary>
    /// The checks of an elementwise launch over <paramref name="n"/> elements: the stream, the count, then each buffer
    /// by name. False when there is nothing to launch (n = 0, where the buffers may be null).
    /// </summary>
    private static bool CheckElementwise(IDeviceStream stream, long n, params ReadOnlySpan<(DevicePtr Pointer, string Name)> buffers)
    {
        CheckStream(stream);
        CheckCount(n, nameof(n));
        if (n == 0)
            return false;
        foreach (var (pointer, name) in buffers)
            CheckBuffer(pointer, name);
        return true;
    }

    /// <summary>An optional buffer: null, or as <see cref="CheckBuffer"/> requires.</summary>
    private static void CheckOptionalBuffer(DevicePtr pointer, string name, int alignment = sizeof(float))
    {
        if (!pointer.IsNull)
            CheckBuffer(pointer, name, alignment);
    }
}
