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
    private readonly RawKernelArguments _boxed = new();
    private readonly Lock _gate = new();

    /// <param name="source">The CUDA C source; it may define helpers and other kernels.</param>
    /// <param name="name">The <c>extern "C" __global__</c> function to launch.</param>
    /// <param name="programName">The source's file name in compiler messages (a plain name ending in .cu).</param>
    /// <param name="defines">Macros defined before the source (<c>-D NAME=VALUE</c>), such as a block size; a parameter's type may be one.</param>
    /// <exception cref="ArgumentException">The source has no such function, or a parameter of a type no argument can be passed as.</exception>
    public RawKernel(string source, string name, string programName = "user_kernels.cu", IReadOnlyDictionary<string, string>? defines = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!ProgramFileName().IsMatch(programName ?? ""))
            throw new ArgumentException($"RawKernel: the program name '{programName}' must be a plain file name ending in .cu", nameof(programName));
        var macros = new Dictionary<string, string>();
        foreach (var (macro, value) in defines ?? new Dictionary<string, string>())
        {
            if (!MacroName().IsMatch(macro ?? "") || value is null || value.Contains('\n'))
                throw new ArgumentException($"RawKernel: '{macro}' = '{value}' is not a macro name with a one-line value", nameof(defines));
            macros[macro!] = value;
        }
        // The defines come first; #line keeps the compilers' line numbers those of the source as written.
        Source = macros.Count == 0 ? source
            : string.Concat(macros.Select(m => $"#define {m.Key} {m.Value}\n")) + $"#line 1 \"{programName}\"\n" + source;
        Name = name;
        ProgramName = programName!;
        Parameters = KernelSignature.Parse(source, name, macros);
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
        lock (_gate)
        {
            _boxed.Clear();
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case Tensor t: _boxed.Add(t); break;
                    case int v: _boxed.Add(v); break;
                    case uint v: _boxed.Add(v); break;
                    case long v: _boxed.Add(v); break;
                    case ulong v: _boxed.Add(v); break;
                    case float v: _boxed.Add(v); break;
                    case double v: _boxed.Add(v); break;
                    default: throw new ArgumentException($"{Where(i)} takes a tensor or an int, uint, long, ulong, float or double, not {Describe(args[i])}");
                }
            }
            Launch(grid, block, sharedBytes, _boxed);
        }
    }

    /// <summary>Launches a 1-D grid with arguments built by <see cref="RawKernelArguments"/>: nothing is allocated once the kernel is compiled.</summary>
    public void Launch(int grid, int block, RawKernelArguments args) => Launch((grid, 1, 1), (block, 1, 1), 0, args);

    /// <summary>
    /// Launches with arguments built by <see cref="RawKernelArguments"/> (reusable, typed, so no scalar is boxed): nothing
    /// is allocated once the kernel is compiled on the device. Checked as the <c>params object[]</c> overload checks.
    /// </summary>
    public void Launch((int X, int Y, int Z) grid, (int X, int Y, int Z) block, int sharedBytes, RawKernelArguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count != Parameters.Count)
            throw new ArgumentException($"RawKernel '{Name}' takes {Parameters.Count} arguments ({string.Join(", ", Parameters.Select(p => $"{p.Type} {p.Name}"))}), got {args.Count}");
        var device = DeviceOf(args);
        lock (_gate)
        {
            _arguments.Clear();
            for (int i = 0; i < args.Count; i++) Add(i, args, device);
            var kernel = Compiled(device);
            device.Compute.Launch(device.Stream, kernel, new LaunchConfig(new Dim3(grid.X, grid.Y, grid.Z), new Dim3(block.X, block.Y, block.Z), sharedBytes).Validated(),
                _arguments.Pointers);
        }
    }

    private CudaDevice DeviceOf(RawKernelArguments args)
    {
        CudaDevice? device = null;
        for (int i = 0; i < args.Count; i++)
        {
            if (args.TensorAt(i) is not { } t) continue;
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

    private string Where(int index) => index < Parameters.Count
        ? $"RawKernel '{Name}': argument {index} for parameter '{Parameters[index].Type} {Parameters[index].Name}'"
        : $"RawKernel '{Name}': argument {index}";

    private void Add(int index, RawKernelArguments args, CudaDevice device)
    {
        var p = Parameters[index];
        var kind = args.KindAt(index);
        if (p.IsPointer)
        {
            if (args.TensorAt(index) is not { } t) throw new ArgumentException($"{Where(index)} must be a tensor, not {args.Describe(index)}");
            if (p.ElementType is { } element && t.DType != element)
                throw new ArgumentException($"{Where(index)} must be a {element.Name()} tensor, not {t.DType.Name()}");
            _arguments.Add(CudaBackend.Address(t));
            return;
        }
        ulong bits = args.BitsAt(index);
        bool added = (p.Type, kind) switch
        {
            ("int", ArgumentKind.Int) => Added((int)bits),
            ("unsigned int", ArgumentKind.UInt) => Added((uint)bits),
            ("unsigned int", ArgumentKind.Int) when (int)bits >= 0 => Added((uint)(int)bits),
            ("long long", ArgumentKind.Long) => Added((long)bits),
            ("long long", ArgumentKind.Int) => Added((long)(int)bits),
            ("unsigned long long", ArgumentKind.ULong) => Added(bits),
            ("unsigned long long", ArgumentKind.Long) when (long)bits >= 0 => Added(bits),
            ("unsigned long long", ArgumentKind.Int) when (int)bits >= 0 => Added((ulong)(int)bits),
            ("float", ArgumentKind.Float) => Added(BitConverter.UInt32BitsToSingle((uint)bits)),
            ("double", ArgumentKind.Double) => Added(BitConverter.UInt64BitsToDouble(bits)),
            ("double", ArgumentKind.Float) => Added((double)BitConverter.UInt32BitsToSingle((uint)bits)),
            _ => false,
        };
        if (!added) throw new ArgumentException($"{Where(index)} takes {ScalarsFor(p.Type)}, not {args.Describe(index)}");

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

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex MacroName();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.cu$")]
    private static partial Regex ProgramFileName();
}

internal enum ArgumentKind { Tensor, Int, UInt, Long, ULong, Float, Double }

/// <summary>
/// A <see cref="RawKernel"/> launch's arguments, added in order with typed methods and reused from launch to launch
/// (<see cref="Clear"/>), so a launch boxes no scalar and allocates nothing: <c>args.Clear().Add(x).Add(y).Add(n)</c>.
/// </summary>
public sealed class RawKernelArguments
{
    private Tensor?[] _tensors = new Tensor?[8];
    private ulong[] _bits = new ulong[8];
    private ArgumentKind[] _kinds = new ArgumentKind[8];

    public int Count { get; private set; }

    public RawKernelArguments Clear()
    {
        Array.Clear(_tensors, 0, Count);
        Count = 0;
        return this;
    }

    public RawKernelArguments Add(Tensor tensor) => Slot(ArgumentKind.Tensor, 0, tensor ?? throw new ArgumentNullException(nameof(tensor)));
    public RawKernelArguments Add(int value) => Slot(ArgumentKind.Int, (uint)value, null);
    public RawKernelArguments Add(uint value) => Slot(ArgumentKind.UInt, value, null);
    public RawKernelArguments Add(long value) => Slot(ArgumentKind.Long, (ulong)value, null);
    public RawKernelArguments Add(ulong value) => Slot(ArgumentKind.ULong, value, null);
    public RawKernelArguments Add(float value) => Slot(ArgumentKind.Float, BitConverter.SingleToUInt32Bits(value), null);
    public RawKernelArguments Add(double value) => Slot(ArgumentKind.Double, BitConverter.DoubleToUInt64Bits(value), null);

    internal Tensor? TensorAt(int index) => _tensors[index];
    internal ulong BitsAt(int index) => _bits[index];
    internal ArgumentKind KindAt(int index) => _kinds[index];

    internal string Describe(int index) => _kinds[index] switch
    {
        ArgumentKind.Tensor => $"a tensor {_tensors[index]}",
        ArgumentKind.Int => $"the int {(int)_bits[index]}",
        ArgumentKind.UInt => $"the uint {(uint)_bits[index]}",
        ArgumentKind.Long => $"the long {(long)_bits[index]}",
        ArgumentKind.ULong => $"the ulong {_bits[index]}",
        ArgumentKind.Float => $"the float {BitConverter.UInt32BitsToSingle((uint)_bits[index])}",
        _ => $"the double {BitConverter.UInt64BitsToDouble(_bits[index])}",
    };

    private RawKernelArguments Slot(ArgumentKind kind, ulong bits, Tensor? tensor)
    {
        if (Count == _kinds.Length)
        {
            Array.Resize(ref _tensors, Count * 2);
            Array.Resize(ref _bits, Count * 2);
            Array.Resize(ref _kinds, Count * 2);
        }
        (_tensors[Count], _bits[Count], _kinds[Count]) = (tensor, bits, kind);
        Count++;
        return this;
    }
}
