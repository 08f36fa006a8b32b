using System.CommandLine;
using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Cli.Commands.Train;
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

    public static Option<Activation> Activation() => CommonOptions.ActivationChoice("Activation for checkpoints that do not record one");

    public static Option<bool> AllowNonFinite() => new("--allow-nonfinite")
    {
        Description = "Load weights (and optimizer state) that hold NaN or infinity; by default such a checkpoint is refused, naming the first bad value",
    };

    /// <summary>Test images of another size than the model's inputs are refused, naming the checkpoint and the images file.</summary>
    public static void CheckInputs(MlpSpec spec, string checkpoint, string directory, Data.MnistDataSet test)
    {
        if (test.ImageSize != spec.Inputs)
            throw new CliException($"--checkpoint: '{checkpoint}' takes {spec.Inputs} inputs but the test images in " +
                $"'{test.ImagesPath ?? directory}' have {test.Rows}x{test.Cols} = {test.ImageSize} pixels", CliApp.RunError);
    }

    /// <summary>
    /// Rebuilds the MLP a checkpoint describes and loads its weights. The metadata, and the tensors' names and shapes, are
    /// checked before the model is built, so a file cannot make it allocate more than its own tensors hold.
    /// </summary>
    public static (Sequential Model, MlpSpec Spec) Load(string path, Activation activation, Device device, bool allowNonFinite)
    {
        if (!File.Exists(path)) throw new CliException($"--checkpoint: file '{path}' does not exist", CliApp.RunError);
        var file = SafetensorsReader.Read(path);
        if (TrainSettings.ReadTask(file) == TrainingTask.Regression)
            throw new CliException($"--checkpoint: '{path}' holds a regression (target '{file.Metadata.GetValueOrDefault(TrainSettings.TargetKey)}'); " +
                "eval and predict take MNIST classifiers, and `train --task regression` reports the test RMSE after every epoch", CliApp.RunError);
        var spec = MlpSpec.FromCheckpoint(file, activation);
        var model = spec.Create(device: device);
        try
        {
            ModelCheckpoint.Load(model, file, allowNonFinite);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return (model, spec);
    }
}
