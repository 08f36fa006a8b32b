using System.CommandLine;
using CudaNn.Data;
using CudaNn.Training;

namespace CudaNn.Cli.Commands;

/// <summary>`eval`: test accuracy and mean loss of saved weights.</summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter output)
    {
        var checkpoint = CheckpointOptions.Checkpoint();
        var activation = CheckpointOptions.Activation();
        var allowNonFinite = CheckpointOptions.AllowNonFinite();
        var data = CommonOptions.Data();
        var device = CommonOptions.Device();
        var batchSize = CommonOptions.BatchSize(1000);
        var command = new Command("eval", "Test accuracy and mean loss of a checkpoint") { checkpoint, activation, allowNonFinite, data, device, batchSize };
        command.SetAction(r =>
        {
            var dev = CommonOptions.ResolveDevice(r.GetValue(device)!);
            string dir = CommonOptions.ResolveData(r.GetValue(data));
            var (model, spec) = CheckpointOptions.LoadDigitClassifier(r.GetValue(checkpoint)!, r.GetValue(activation)!, dev, r.GetValue(allowNonFinite));
            using (model)
            {
                var test = MnistDataSet.Load(dir, MnistSplit.Test);
                CheckpointOptions.CheckInputs(spec, r.GetValue(checkpoint)!, dir, test);
                using var loader = DataLoader.FromMnist(test, r.GetValue(batchSize), device: dev);
                var result = Trainer.Evaluate(model, loader);
                output.WriteLine($"CudaNn eval: {spec} from {r.GetValue(checkpoint)} on {dir} ({test.Count} test), device {dev.Name}");
                output.WriteLine(Report.TestFigures(result));
            }
            return 0;
        });
        return command;
    }
}
