using System.Text.RegularExpressions;
using CudaNn.Backends.Cuda;
using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn;

/// <summary>One parameter of a <see cref="RawKernel"/>'s entry point, as its source declares it.</summary>
/// <param name="Type">The declared type without qualifiers: "float*", "int", "long long".</param>
/// <param name="ElementType">A pointer's element type when it is one a tensor holds (float, double, int, unsigned char); null for a scalar or any other pointer.</param>
public sealed record KernelParameter(string Name, string Type, bool IsPointer, DType? ElementType);

/// <summary>
/// A CUDA C kernel of your own (CuPy's RawKernel): <c>new RawKernel(source, "name")</c> compiles the source's
/// <c>extern "C" __global__</c> function <c>name</c> on the first launch on each device, through NVRTC and the kernel
/// cache on a GPU, through g++ on the emulator, where every load and store is checked against the tensors' memory (an
/// access outside them is an <see cref="Kernels.Emulation.EmulatedKernelException"/> naming the kernel, the block and
/// thread, and the memory). <see cref="Launch(int, int, object[])"/> takes tensors (passed as device pointers) and
/// int, uint, long, ulong, float or double scalars, checked against the parameters the source declares; it launches on
/// the device's stream, so a captured training step captures it.
/// </summary>
public sealed partial class RawKernel
{
    private readonly Dictionary<CudaDevice, IDeviceKernel> _compiled = [];
    private readonly KernelArguments _arguments = new();
    private readonly Lock _gate = new();

    /// <param name="source">The CUDA C source; it may define helpers and other kernels.</param>
    /// <param name="name">The <c>extern "C" __global__</c> function to launch.</param>
    /// <param name="programName">The source's file name in compiler messages (a plain name ending in .cu).</param>
    /// <exception cref="ArgumentException">The source has no such function, or a parameter of a type no argument can be passed as.</exception>
    public RawKernel(string source, string name, string programName = "user_kernels.cu")
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!ProgramFileName().IsMatch(programName ?? ""))
            throw new ArgumentException($"RawKernel: the program name '{programName}' must be a plain file name ending in .cu", nameof(programName));
        Source = source;
        Name = name;
        ProgramName = programName!;
        Parameters = KernelSignature.Parse(source, name);
    }

    public string Source { get; }
    public string Name { get; }
    public string ProgramName { get; }

    /// <summary>The entry point's parameters, in order, read from the source.</summary>
    public IReadOnlyList<KernelParameter> Parameters { get; }

    /// <summary>Launches a 1-D grid of <paramref name="grid"/> blocks of <paramref name="block"/> threads.</summary>
    public void Launch(int grid, int block, params object[] args) => Launch((grid, 1, 1), (block, 1, 1), 0, args);

    /// <summary>
    /// Launches a grid of <paramref name="grid"/> blocks of <paramref name="block"/> threads with
    /// <paramref name="sharedBytes"/> bytes of dynamic shared memory, on the device of the tensor arguments (every one on
    /// the same GPU or the emulator).
    /// </summary>
    /// <exception cref="ArgumentException">The arguments do not match the parameters: their number, a tensor where a scalar is declared or the other way, a tensor's dtype, a scalar's type, or a tensor's device.</exception>
    public void Launch((int X, int Y, int Z) grid, (int X, int Y, int Z) block, int sharedBytes, params object[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length != Parameters.Count)
            throw new ArgumentException($"RawKernel '{Name}' takes {Parameters.Count} arguments ({string.Join(", ", Parameters.Select(p => $"{p.Type} {p.Name}"))}), got {args.Length}");
        var device = DeviceOf(args);
        lock (_gate)
        {
            _arguments.Clear();
            for (int i = 0; i < args.Length; i++) Add(i, args[i], device);
            var kernel = Compiled(device);
            device.Compute.Launch(device.Stream, kernel, new LaunchConfig(new Dim3(grid.X, grid.Y, grid.Z), new Dim3(block.X, block.Y, block.Z), sharedBytes).Validated(),
                _arguments.Pointers);
        }
    }

    private CudaDevice DeviceOf(object[] args)
    {
        CudaDevice? device = null;
        foreach (var arg in args)
        {
            if (arg is not Tensor t) continue;
            if (t.Device is not CudaDevice gpu)
                throw new ArgumentException($"RawKernel '{Name}' runs on a GPU or the emulator; a tensor argument is on {t.Device.Name}");
            if (device is not null && gpu != device)
                throw new ArgumentException($"RawKernel '{Name}': tensor arguments are on {device.Name} and {gpu.Name}; a launch runs on one device");
            device = gpu;
        }
        return device ?? throw new ArgumentException($"RawKernel '{Name}' runs on the device of its tensor arguments, and it was given none");
    }

    private IDeviceKernel Compiled(CudaDevice device)
    {
        if (_compiled.TryGetValue(device, out var kernel)) return kernel;
        if (device.Kind == DeviceKind.Emulator && KernelSignature.WhatTheEmulatorCannotRun(Source) is { } construct)
            throw new NotSupportedException($"RawKernel '{Name}': the emulator cannot run {construct}; it runs such a kernel only on a GPU");
        kernel = SourceKernels.Load(device.Compute, Source, ProgramName, Name);
        _compiled[device] = kernel;
        return kernel;
    }

    private void Add(int index, object? arg, CudaDevice device)
    {
        var p = Parameters[index];
        string where = $"RawKernel '{Name}': argument {index} for parameter '{p.Type} {p.Name}'";
        if (p.IsPointer)
        {
            if (arg is not Tensor t) throw new ArgumentException($"{where} must be a tensor, not {Describe(arg)}");
            if (p.ElementType is { } element && t.DType != element)
                throw new ArgumentException($"{where} must be a {element.Name()} tensor, not {t.DType.Name()}");
            _arguments.Add(CudaBackend.Address(t));
            return;
        }
        bool added = (p.Type, arg) switch
        {
            ("int", int v) => Added(v),
            ("unsigned int", uint v) => Added(v),
            ("unsigned int", int v) when v >= 0 => Added((uint)v),
            ("long long", long v) => Added(v),
            ("long long", int v) => Added((long)v),
            ("unsigned long long", ulong v) => Added(v),
            ("unsigned long long", long v) when v >= 0 => Added((ulong)v),
            ("unsigned long long", int v) when v >= 0 => Added((ulong)v),
            ("float", float v) => Added(v),
            ("double", double v) => Added(v),
            ("double", float v) => Added((double)v),
            _ => false,
        };
        if (!added) throw new ArgumentException($"{where} takes {ScalarsFor(p.Type)}, not {Describe(arg)}");

        bool Added<T>(T value) where T : unmanaged
        {
            _arguments.Add(value);
            return true;
        }
    }

    private static string ScalarsFor(string type) => type switch
    {
        "int" => "an int",
        "unsigned int" => "a uint (or a non-negative int)",
        "long long" => "a long (or an int)",
        "unsigned long long" => "a ulong (or a non-negative long or int)",
        "float" => "a float",
        _ => "a double (or a float)",
    };

    private static string Describe(object? arg) => arg switch
    {
        null => "null",
        Tensor t => $"a tensor {t}",
        int v => $"the int {v}",
        _ => $"a {arg.GetType().Name} ({arg})",
    };

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.cu$")]
    private static partial Regex ProgramFileName();
}
