using System.CommandLine;
using CudaNn.Export;

namespace CudaNn.Cli.Commands;

/// <summary>`export --onnx`: the checkpoint's MLP as an ONNX graph that any ONNX runtime can run.</summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter output)
    {
        var checkpoint = CheckpointOptions.Checkpoint();
        var activation = CheckpointOptions.Activation();
        var allowNonFinite = CheckpointOptions.AllowNonFinite();
        var onnx = new Option<string>("--onnx") { Description = "Where to write the ONNX model (opset 17, dynamic batch)", Required = true };
        var command = new Command("export", "Write a checkpoint's model as ONNX") { checkpoint, activation, allowNonFinite, onnx };
        command.SetAction(r =>
        {
            string path = r.GetValue(onnx)!;
            CommonOptions.CheckWritable("--onnx", path);
            var (model, spec) = CheckpointOptions.LoadInRawUnits(r.GetValue(checkpoint)!, r.GetValue(activation)!, Device.Cpu, r.GetValue(allowNonFinite));
            using (model)
            {
                OnnxExporter.Save(model, path);
                output.WriteLine($"Exported {spec} from {r.GetValue(checkpoint)} to {path} " +
                                 $"(ONNX IR {OnnxExporter.IrVersion}, opset {OnnxExporter.Opset}; input '{OnnxExporter.InputName}' [batch, {spec.Inputs}], output '{OnnxExporter.OutputName}' [batch, {spec.Classes}])");
            }
            return 0;
        });
        return command;
    }
}
