using System.Buffers.Binary;
using CudaNn.Backends;
using CudaNn.IO;
using CudaNn.Nn;

namespace CudaNn.Export;

/// <summary>
/// Writes a <see cref="Sequential"/> of Linear, LayerNorm, activation and Dropout layers as an ONNX model (IR version 8, opset 17):
/// input "input" float32 [batch, in] with a dynamic batch dimension, one Gemm per Linear (y = x W^T + b, transB = 1)
/// with the weights as initializers under the layers' state-dict names, one LayerNormalization per LayerNorm, the
/// nodes each <see cref="Activation"/> writes (one operator such as Relu, with its parameter as an attribute where it
/// has one, or several where opset 17 has none: GELU as Div, Erf, Add, Mul, Mul and SiLU as Sigmoid, Mul), and
/// output "logits" [batch, out]; Dropout layers, the identity at inference, are left out. Float64 models are written as float32, the type ONNX runtimes serve everywhere.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ONNX IR version written (8: ONNX 1.10).</summary>
    public const long IrVersion = 8;

    /// <summary>The default-domain operator set the graph uses.</summary>
    public const long Opset = 17;

    /// <summary>Name of the graph's input, [batch, in_features] float32.</summary>
    public const string InputName = "input";

    /// <summary>Name of the graph's output, [batch, out_features] float32.</summary>
    public const string OutputName = "logits";

    /// <summary>Writes the model to <paramref name="path"/> via a temporary file and a rename.</summary>
    public static void Save(Sequential model, string path)
    {
        byte[] bytes = ToBytes(model);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>The serialized ModelProto.</summary>
    /// <exception cref="NotSupportedException">A layer other than Linear, LayerNorm, an activation or Dropout, or no Linear at all.</exception>
    public static byte[] ToBytes(Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var onnx = new OnnxGraph();
        var graph = onnx.Proto;
        string current = InputName;
        int? inputs = null, outputs = null;
        // Dropout is the identity at inference, and torch.onnx.export of a model in eval mode leaves it out too.
        var layers = model.NamedChildren().Where(c => c.Module is not Dropout).ToList();
        for (int i = 0; i < layers.Count; i++)
        {
            var (name, module) = layers[i];
            string result = i == layers.Count - 1 ? OutputName : name;
            switch (module)
            {
                case Linear linear:
                    inputs ??= linear.InFeatures;
                    outputs = linear.OutFeatures;
                    graph.Message(OnnxFields.GraphInitializer, Initializer($"{name}.weight", linear.Weight.Value));
                    var gemmInputs = new List<string> { current, $"{name}.weight" };
                    if (linear.Bias is { } bias)
                    {
                        graph.Message(OnnxFields.GraphInitializer, Initializer($"{name}.bias", bias.Value));
                        gemmInputs.Add($"{name}.bias");
                    }
                    graph.Message(OnnxFields.GraphNode, Node("Gemm", name, gemmInputs, result, IntAttribute("transB", 1)));
                    break;
                case LayerNorm norm:
                {
                    // LayerNormalization (opset 17) over the last axis; its Scale input is required, so a norm without
                    // weight gets ones.
                    string scale = $"{name}.weight";
                    if (norm.Weight is { } weight) graph.Message(OnnxFields.GraphInitializer, Initializer(scale, weight.Value));
                    else graph.Message(OnnxFields.GraphInitializer, Initializer(scale, Enumerable.Repeat(1f, norm.NormalizedShape).ToArray()));
                    var normInputs = new List<string> { current, scale };
                    if (norm.Bias is { } normBias)
                    {
                        graph.Message(OnnxFields.GraphInitializer, Initializer($"{name}.bias", normBias.Value));
                        normInputs.Add($"{name}.bias");
                    }
                    graph.Message(OnnxFields.GraphNode, Node("LayerNormalization", name, normInputs, result,
                        IntAttribute("axis", -1), FloatAttribute("epsilon", (float)norm.Eps)));
                    break;
                }
                case ActivationModule activation:
                    activation.Activation.WriteOnnx(onnx, name, current, result);
                    break;
                default:
                    throw new NotSupportedException($"ONNX export handles Linear, LayerNorm, activation and Dropout layers, not {name} ({module})");
            }
            current = result;
        }
        if (inputs is null || outputs is null) throw new NotSupportedException("ONNX export needs at least one Linear layer");
        if (current != OutputName) throw new NotSupportedException("the model has no layers");
        graph.Message(OnnxFields.GraphInput, ValueInfo(InputName, inputs.Value));
        graph.Message(OnnxFields.GraphOutput, ValueInfo(OutputName, outputs.Value));

        return new ProtoWriter()
            .Int64(OnnxFields.ModelIrVersion, IrVersion)
            .String(OnnxFields.ModelProducerName, "CudaNn")
            .String(OnnxFields.ModelProducerVersion, typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0")
            .Message(OnnxFields.ModelGraph, graph)
            .Message(OnnxFields.ModelOpsetImport, new ProtoWriter().String(OnnxFields.OpsetDomain, "").Int64(OnnxFields.OpsetVersion, Opset))
            .ToArray();
    }

    internal static ProtoWriter Node(string opType, string name, IEnumerable<string> inputs, string output, params ProtoWriter[] attributes)
    {
        var node = new ProtoWriter();
        foreach (string input in inputs) node.String(OnnxFields.NodeInput, input);
        node.String(OnnxFields.NodeOutput, output).String(OnnxFields.NodeName, name).String(OnnxFields.NodeOpType, opType);
        foreach (var attribute in attributes) node.Message(OnnxFields.NodeAttribute, attribute);
        return node;
    }

    private static ProtoWriter IntAttribute(string name, long value) => new ProtoWriter()
        .String(OnnxFields.AttributeName, name)
        .Int64(OnnxFields.AttributeInt, value)
        .Int32(OnnxFields.AttributeType, OnnxFields.AttributeTypeInt);

    internal static ProtoWriter FloatAttribute(string name, float value) => new ProtoWriter()
        .String(OnnxFields.AttributeName, name)
        .Float(OnnxFields.AttributeFloat, value)
        .Int32(OnnxFields.AttributeType, OnnxFields.AttributeTypeFloat);

    /// <summary>A float32 TensorProto with little-endian raw_data, dims as in PyTorch (Linear weight [out, in]).</summary>
    private static ProtoWriter Initializer(string name, Tensor value) => Initializer(name,
        value.DType == DType.Float64 ? Array.ConvertAll(value.ToArray<double>(), v => (float)v) : value.ToArray<float>(), value.Shape.ToArray());

    private static ProtoWriter Initializer(string name, float[] values, int[]? shape = null)
    {
        var raw = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        var tensor = new ProtoWriter();
        foreach (int d in shape ?? [values.Length]) tensor.Int64(OnnxFields.TensorDims, d);
        return tensor.Int32(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat)
            .String(OnnxFields.TensorName, name)
            .Bytes(OnnxFields.TensorRawData, raw);
    }

    /// <summary>A float32 [batch, features] value whose first dimension is the symbol "batch".</summary>
    private static ProtoWriter ValueInfo(string name, int features)
    {
        var shape = new ProtoWriter()
            .Message(OnnxFields.ShapeDim, new ProtoWriter().String(OnnxFields.DimParam, "batch"))
            .Message(OnnxFields.ShapeDim, new ProtoWriter().Int64(OnnxFields.DimValue, features));
        var tensorType = new ProtoWriter().Int32(OnnxFields.TensorTypeElemType, OnnxFields.DataTypeFloat).Message(OnnxFields.TensorTypeShape, shape);
        return new ProtoWriter()
            .String(OnnxFields.ValueInfoName, name)
            .Message(OnnxFields.ValueInfoType, new ProtoWriter().Message(OnnxFields.TypeTensorType, tensorType));
    }
}

/// <summary>An ONNX graph being written: its nodes, and scalar constants written once however many nodes use them.</summary>
internal sealed class OnnxGraph
{
    private readonly HashSet<string> _constants = [];

    public ProtoWriter Proto { get; } = new ProtoWriter().String(OnnxFields.GraphName, "cudann_mlp");

    /// <summary>Adds a node, with float attributes where it has any.</summary>
    public void Node(string opType, string name, IEnumerable<string> inputs, string output, params (string Name, float Value)[] attributes) =>
        Proto.Message(OnnxFields.GraphNode, OnnxExporter.Node(opType, name, inputs, output,
            attributes.Select(a => OnnxExporter.FloatAttribute(a.Name, a.Value)).ToArray()));

    /// <summary>A scalar float32 initializer's name, writing it the first time.</summary>
    public string Constant(string name, float value)
    {
        if (!_constants.Add(name)) return name;
        var raw = new byte[sizeof(float)];
        BinaryPrimitives.WriteSingleLittleEndian(raw, value);
        Proto.Message(OnnxFields.GraphInitializer, new ProtoWriter().Int32(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat)
            .String(OnnxFields.TensorName, name).Bytes(OnnxFields.TensorRawData, raw));
        return name;
    }
}
