namespace CudaNn.Export;

/// <summary>
/// The field numbers of the few ONNX messages the exporter writes (onnx.proto of the ONNX specification),
/// and the enum values it uses. Named here once so the writer reads as the messages it builds.
/// </summary>
internal static class OnnxFields
{
    // ModelProto
    public const int ModelIrVersion = 1, ModelProducerName = 2, ModelProducerVersion = 3, ModelGraph = 7, ModelOpsetImport = 8;

    // OperatorSetIdProto
    public const int OpsetDomain = 1, OpsetVersion = 2;

    // GraphProto
    public const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;

    // NodeProto
    public const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;

    // AttributeProto; AttributeType.FLOAT = 1, INT = 2
    public const int AttributeName = 1, AttributeFloat = 2, AttributeInt = 3, AttributeType = 20, AttributeTypeFloat = 1, AttributeTypeInt = 2;

    // TensorProto; DataType.FLOAT = 1
    public const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9, DataTypeFloat = 1;

    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
    public const int ValueInfoName = 1, ValueInfoType = 2;
    public const int TypeTensorType = 1;
    public const int TensorTypeElemType = 1, TensorTypeShape = 2;
    public const int ShapeDim = 1;
    public const int DimValue = 1, DimParam = 2;
}
