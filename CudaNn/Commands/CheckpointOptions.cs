using System.CommandLine;
using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Data;
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
    /// Rebuilds the MNIST classifier a checkpoint describes and loads its weights, for eval and predict, which read MNIST
    /// images; a model of a CSV's column is refused, saying so.
    /// </summary>
    public static (Sequential Model, MlpSpec Spec) LoadDigitClassifier(string path, Activation activation, Device device, bool allowNonFinite)
    {
        var file = Read(path);
        bool regression = TrainSettings.ReadTask(file) == TrainingTask.Regression;
        if (regression || file.Metadata.ContainsKey(TrainSettings.TargetKey))
        {
            string column = file.Metadata.GetValueOrDefault(TrainSettings.TargetKey) is { } name ? $" of CSV column '{name}'" : "";
            throw new CliException($"--checkpoint: '{path}' holds {(regression ? "a regression" : "a classifier")}{column}; eval and predict " +
                "read MNIST images, and `train --target` reports the test figures after every epoch", CliApp.RunError);
        }
        return Build(file, activation, device, allowNonFinite);
    }

    /// <summary>
    /// Rebuilds any MLP `train` wrote, with the statistics of a CSV's standardized columns folded into its first and last
    /// Linear, so that the model takes the table's features and gives its units (what `export` writes).
    /// </summary>
    public static (Sequential Model, MlpSpec Spec) LoadInRawUnits(string path, Activation activation, Device device, bool allowNonFinite)
    {
        var file = Read(path);
        var scaler = Standardizer.Read(file);
        var (model, spec) = Build(file, activation, device, allowNonFinite);
        try
        {
            scaler?.FoldInto(model);
        }
        catch (ArgumentException e)
        {
            model.Dispose();
            throw new CheckpointFormatException(file.Source, $"its standardization does not fit its model: {e.Message}");
        }
        return (model, spec);
    }

    private static SafetensorsFile Read(string path) => File.Exists(path) ? SafetensorsReader.Read(path)
        : throw new CliException($"--checkpoint: file '{path}' does not exist", CliApp.RunError);

    /// <summary>
    /// The MLP a checkpoint describes, with its weights. The metadata, and the tensors' names and shapes, are checked
    /// before the model is built, so a file cannot make it allocate more than its own tensors hold.
    /// </summary>
    private static (Sequential Model, MlpSpec Spec) Build(SafetensorsFile file, Activation activation, Device device, bool allowNonFinite)
    {
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
