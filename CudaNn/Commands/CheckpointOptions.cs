using System.CommandLine;
using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Training;

namespace CudaNn.Cli.Commands;

/// <summary>--checkpoint and --activation, and the model they describe.</summary>
internal static class CheckpointOptions
{
    public static Option<string> Checkpoint() => new("--checkpoint")
    {
        Description = "Weights saved by `train` (or by PyTorch: safetensors with fc1.weight, fc1.bias, ...)",
        Required = true,
    };

    public static Option<string> Activation()
    {
        var option = new Option<string>("--activation")
        {
            Description = "Activation for checkpoints that do not record one",
            DefaultValueFactory = _ => "relu",
        };
        option.AcceptOnlyFromAmong("relu", "sigmoid", "tanh", "gelu", "silu");
        return option;
    }

    /// <summary>Rebuilds the MLP a checkpoint describes and loads its weights.</summary>
    public static (Sequential Model, MlpSpec Spec) Load(string path, string activation, Device device)
    {
        if (!File.Exists(path)) throw new CliException($"--checkpoint: file '{path}' does not exist", CliApp.RunError);
        var file = SafetensorsReader.Read(path);
        if (file.Metadata.GetValueOrDefault(TrainSettings.TaskKey) == "regression")
            throw new CliException($"--checkpoint: '{path}' holds a regression (target '{file.Metadata.GetValueOrDefault(TrainSettings.TargetKey)}'); " +
                "eval and predict take MNIST classifiers, and `train --task regression` reports the test RMSE after every epoch", CliApp.RunError);
        var spec = MlpSpec.FromCheckpoint(file, Mlp.ParseActivation(activation));
        var model = spec.Create(device: device);
        try
        {
            ModelCheckpoint.Load(model, file);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return (model, spec);
    }
}
