using System.Text;
using System.Text.RegularExpressions;

namespace CudaNn;

/// <summary>
/// An elementwise kernel from one line of CUDA C (CuPy's ElementwiseKernel):
/// <c>new ElementwiseKernel("float x, float y", "float z", "z = x * y + 1.0f", "fma1")</c> generates a grid-stride
/// kernel that runs the operation for every index i with each name bound to its operand's element i.
/// <see cref="Launch"/> takes the inputs then the outputs; every tensor operand has the same shape, and an input may be
/// a scalar instead, which every element sees (a kernel is generated per pattern of scalars, once).
/// </summary>
public sealed partial class ElementwiseKernel
{
    private const int BlockSize = 256;
    private const int MaxBlocks = 4096;
    private readonly (string Type, string Name)[] _inputs;
    private readonly (string Type, string Name)[] _outputs;
    private readonly Dictionary<int, RawKernel> _kernels = [];
    private readonly RawKernelArguments _arguments = new();
    private readonly Lock _gate = new();

    /// <param name="inputs">"float x, float y": types float, double or int, and names.</param>
    /// <param name="outputs">"float z": what the operation assigns.</param>
    /// <param name="operation">CUDA C statements over the names, such as "z = x * y + 1.0f".</param>
    /// <param name="name">The generated kernel's name (a C identifier).</param>
    public ElementwiseKernel(string inputs, string outputs, string operation, string name)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!Identifier().IsMatch(name ?? "")) throw new ArgumentException($"ElementwiseKernel: '{name}' is not a C identifier", nameof(name));
        Name = name!;
        _inputs = Declarations(inputs, nameof(inputs));
        _outputs = Declarations(outputs, nameof(outputs));
        if (_outputs.Length == 0) throw new ArgumentException($"ElementwiseKernel '{Name}' needs at least one output", nameof(outputs));
        var names = _inputs.Concat(_outputs).Select(p => p.Name).ToList();
        if (names.Distinct().Count() != names.Count) throw new ArgumentException($"ElementwiseKernel '{Name}': a name is declared twice in '{inputs}' / '{outputs}'");
        Operation = operation;
    }

    public string Name { get; }
    public string Operation { get; }

    /// <summary>Runs the operation over every element: <paramref name="operands"/> are the inputs (tensors or scalars), then the outputs (tensors).</summary>
    /// <exception cref="ArgumentException">The wrong number of operands, an output that is not a tensor, shapes that differ, or a dtype or scalar that does not match its declaration.</exception>
    public void Launch(params object[] operands)
    {
        ArgumentNullException.ThrowIfNull(operands);
        int expected = _inputs.Length + _outputs.Length;
        if (operands.Length != expected)
            throw new ArgumentException($"ElementwiseKernel '{Name}' takes {_inputs.Length} inputs and {_outputs.Length} outputs ({string.Join(", ", _inputs.Concat(_outputs).Select(p => p.Name))}), got {operands.Length} operands");
        Tensor? first = null;
        int scalars = 0;
        for (int i = 0; i < operands.Length; i++)
        {
            var (type, name) = i < _inputs.Length ? _inputs[i] : _outputs[i - _inputs.Length];
            if (operands[i] is Tensor t)
            {
                first ??= t;
                if (!t.Shape.SequenceEqual(first.Shape))
                    throw new ArgumentException($"ElementwiseKernel '{Name}': '{name}' is {Tensor.ShapeText(t.Shape)} but '{NameOf(operands, first)}' is {Tensor.ShapeText(first.Shape)}");
            }
            else if (i >= _inputs.Length)
            {
                throw new ArgumentException($"ElementwiseKernel '{Name}': output '{name}' must be a tensor, not {operands[i]?.GetType().Name ?? "null"}");
            }
            else
            {
                scalars |= 1 << i;
            }
        }
        long n = first!.Numel;
        int blocks = (int)Math.Clamp((n + BlockSize - 1) / BlockSize, 1, MaxBlocks);
        lock (_gate)
        {
            if (!_kernels.TryGetValue(scalars, out var kernel))
                _kernels[scalars] = kernel = new RawKernel(Source(scalars), Name, $"{Name}.cu");
            _arguments.Clear();
            foreach (var operand in operands)
            {
                _ = operand switch
                {
                    Tensor t => _arguments.Add(t),
                    float v => _arguments.Add(v),
                    double v => _arguments.Add(v),
                    int v => _arguments.Add(v),
                    _ => throw new ArgumentException($"ElementwiseKernel '{Name}': an operand is a tensor, a float, a double or an int, not {operand?.GetType().Name ?? "null"}"),
                };
            }
            kernel.Launch(blocks, BlockSize, _arguments.Add(n));
        }
    }

    /// <summary>The generated CUDA source for a pattern of scalar inputs (bit i set: input i is a scalar).</summary>
    internal string Source(int scalars)
    {
        var parameters = new List<string>();
        var loads = new StringBuilder();
        for (int i = 0; i < _inputs.Length; i++)
        {
            var (type, name) = _inputs[i];
            if ((scalars & (1 << i)) != 0)
            {
                parameters.Add($"{type} {name}");
                continue;
            }
            parameters.Add($"const {type}* __restrict__ {name}_");
            loads.Append($"        const {type} {name} = {name}_[i];\n");
        }
        var stores = new StringBuilder();
        foreach (var (type, name) in _outputs)
        {
            parameters.Add($"{type}* __restrict__ {name}_");
            loads.Append($"        {type} {name};\n");
            stores.Append($"        {name}_[i] = {name};\n");
        }
        parameters.Add("long long n");
        return $$"""
            // Generated by CudaNn's ElementwiseKernel '{{Name}}'.
            extern "C" __global__ void {{Name}}({{string.Join(", ", parameters)}})
            {
                for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
                {
            {{loads}}        {
                        {{Operation}};
                    }
            {{stores}}    }
            }

            """;
    }

    private string NameOf(object[] operands, Tensor tensor)
    {
        int i = Array.IndexOf(operands, tensor);
        return i < _inputs.Length ? _inputs[i].Name : _outputs[i - _inputs.Length].Name;
    }

    private (string Type, string Name)[] Declarations(string? text, string what)
    {
        ArgumentNullException.ThrowIfNull(text, what);
        if (text.Trim().Length == 0) return [];
        return text.Split(',').Select(d =>
        {
            var parts = d.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || parts[0] is not ("float" or "double" or "int") || !Identifier().IsMatch(parts[1]))
                throw new ArgumentException($"ElementwiseKernel '{Name}': '{d.Trim()}' is not 'TYPE NAME' with TYPE float, double or int", what);
            return (parts[0], parts[1]);
        }).ToArray();
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();
}
