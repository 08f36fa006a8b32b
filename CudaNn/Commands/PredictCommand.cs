using System.CommandLine;
using System.Globalization;
using System.Text;
using CudaNn.Data;
using CudaNn.Training;

namespace CudaNn.Cli.Commands;

/// <summary>`predict`: one test digit drawn as text, its true label, the prediction and every class probability.</summary>
internal static class PredictCommand
{
    public static Command Create(TextWriter output)
    {
        var checkpoint = CheckpointOptions.Checkpoint();
        var activation = CheckpointOptions.Activation();
        var data = CommonOptions.Data();
        var device = CommonOptions.Device();
        var index = new Option<int>("--index") { Description = "Which test image (0-based)", DefaultValueFactory = _ => 0 };
        var command = new Command("predict", "Classify one test image and show it") { checkpoint, activation, data, device, index };
        command.SetAction(r =>
        {
            var dev = CommonOptions.ResolveDevice(r.GetValue(device)!);
            var test = MnistDataSet.Load(CommonOptions.ResolveData(r.GetValue(data)), MnistSplit.Test);
            int i = r.GetValue(index);
            if (i < 0 || i >= test.Count) throw new CliException($"--index: {i} is outside the {test.Count} test images (0 to {test.Count - 1})");
            var (model, _) = CheckpointOptions.Load(r.GetValue(checkpoint)!, r.GetValue(activation)!, dev);
            using (model)
            {
                using var one = DataLoader.FromMnist(Subset(test, i), 1, device: dev);
                var (x, _) = one.First();
                var prediction = Prediction.Predict(model, x)[0];
                output.Write(TextArt(test.Image(i), test.Rows, test.Cols));
                output.WriteLine($"test image {i}: true label {test.Labels[i]}, predicted {prediction.Label}" +
                                 (prediction.Label == test.Labels[i] ? " (right)" : " (WRONG)"));
                for (int c = 0; c < prediction.Probabilities.Length; c++)
                {
                    double p = prediction.Probabilities[c];
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {c}: {p,7:P2} {new string('#', (int)Math.Round(p * 40))}"));
                }
            }
            return 0;
        });
        return command;
    }

    private static MnistDataSet Subset(MnistDataSet data, int index) =>
        new(data.Image(index).ToArray(), [data.Labels[index]], data.Rows, data.Cols);

    /// <summary>Two characters per pixel so the digit keeps its proportions in a terminal.</summary>
    internal static string TextArt(ReadOnlySpan<byte> pixels, int rows, int cols)
    {
        const string shades = " .:-=+*#%@";
        var text = new StringBuilder();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                char shade = shades[pixels[r * cols + c] * (shades.Length - 1) / 255];
                text.Append(shade).Append(shade);
            }
            text.Append('\n');
        }
        return text.ToString();
    }
}
