using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using CudaNn.Cuda;

namespace CudaNn.Kernels.Emulation;

/// <summary>
/// One built emulator library, loaded once per process and never unloaded (its fiber stacks and thread-local
/// shared memory stay valid for the process). Its scheduler keeps global state, so launches take a lock.
/// </summary>
internal sealed unsafe class EmulatorLibrary
{
    private const int AbiVersion = 2;
    private const int ErrorCapacity = 2048;
    private static readonly ConcurrentDictionary<string, Lazy<EmulatorLibrary>> Loaded = new();

    private readonly delegate* unmanaged<int, uint*, uint*, ulong, nint*, int, MemoryMap*, MemoryFault*, byte*, int, int> launch;
    private readonly Lock gate = new();

    private EmulatorLibrary(string path)
    {
        nint handle = NativeLibrary.Load(path);
        int version = ((delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "cudann_emu_abi_version"))();
        if (version != AbiVersion)
            throw new InvalidOperationException($"{path} speaks emulator ABI {version}, not {AbiVersion}; delete it to rebuild.");
        var count = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "cudann_emu_kernel_count");
        var name = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(handle, "cudann_emu_kernel_name");
        var parameters = (delegate* unmanaged<int, ulong*, int, int>)NativeLibrary.GetExport(handle, "cudann_emu_kernel_parameters");
        launch = (delegate* unmanaged<int, uint*, uint*, ulong, nint*, int, MemoryMap*, MemoryFault*, byte*, int, int>)NativeLibrary.GetExport(handle, "cudann_emu_launch");

        var kernels = new List<EmulatedKernel>();
        for (int i = 0, n = count(); i < n; i++)
        {
            int parameterCount = parameters(i, null, 0);
            ulong[] sizes = new ulong[parameterCount];
            fixed (ulong* p = sizes)
                parameters(i, p, parameterCount);
            kernels.Add(new EmulatedKernel(this, i, Marshal.PtrToStringUTF8((nint)name(i))!, sizes.Select(s => (int)s).ToArray()));
        }
        Path = path;
        Kernels = kernels;
    }

    public string Path { get; }

    public IReadOnlyList<EmulatedKernel> Kernels { get; }

    /// <summary>The library at <paramref name="path"/>, loaded on first use.</summary>
    public static EmulatorLibrary Load(string path) =>
        Loaded.GetOrAdd(System.IO.Path.GetFullPath(path), p => new Lazy<EmulatorLibrary>(() => new EmulatorLibrary(p))).Value;

    /// <summary>
    /// Runs <paramref name="kernel"/> over the whole grid; <paramref name="arguments"/> is cuLaunchKernel's void**. Its
    /// loads and stores are checked against <paramref name="memory"/> where the library was built with the checks.
    /// </summary>
    public void Launch(EmulatedKernel kernel, LaunchConfig config, ReadOnlySpan<nint> arguments, WarpOrder order, HostMemory memory)
    {
        uint* grid = stackalloc uint[] { (uint)config.Grid.X, (uint)config.Grid.Y, (uint)config.Grid.Z };
        uint* block = stackalloc uint[] { (uint)config.Block.X, (uint)config.Block.Y, (uint)config.Block.Z };
        byte* error = stackalloc byte[ErrorCapacity];
        MemoryFault fault = default;
        int status;
        lock (gate)
        {
            fixed (nint* args = arguments)
                status = launch(kernel.Index, grid, block, (ulong)config.SharedBytes, args, order == WarpOrder.Descending ? 1 : 0,
                    memory.Map, &fault, error, ErrorCapacity);
        }
        if (status == 0)
            return;
        string reason = Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(error));
        if (status == 1)
            throw new ArgumentException($"Launch of '{kernel.Name}' with {config} rejected by the host emulator: {reason}");
        if (fault.Space == MemoryFault.Device)
            reason += ": " + memory.Describe(fault.Address, (long)fault.Bytes);
        throw new EmulatedKernelException(kernel.Name, $"{reason} (launch {config})");
    }
}

/// <summary>A kernel of an emulator library: its entry-point index and the byte size of each parameter.</summary>
internal sealed class EmulatedKernel(EmulatorLibrary library, int index, string name, IReadOnlyList<int> parameterSizes) : IDeviceKernel
{
    public EmulatorLibrary Library { get; } = library;

    public int Index { get; } = index;

    public string Name { get; } = name;

    public IReadOnlyList<int> ParameterSizes { get; } = parameterSizes;

    public override string ToString() => $"{Name}({ParameterSizes.Count} parameters)";
}
