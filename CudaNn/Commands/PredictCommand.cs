using System.CommandLine;
using System.Globalization;
using System.Text;
using CudaNn.Cli.Plots;
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
        var allowNonFinite = CheckpointOptions.AllowNonFinite();
        var data = CommonOptions.Data();
        var device = CommonOptions.Device();
        var index = OptionValues.Whole("--index", "Which test image (0-based); with --grid, the first one drawn", 0, 0);
        var grid = new Option<string?>("--grid") { Description = "Draw --count test images with true and predicted labels to this PNG" };
        var count = OptionValues.Whole("--count", "How many images --grid draws", 64, 1, CliLimits.GridCount);
        var command = new Command("predict", "Classify test images: one shown as text, or a grid of them drawn to a PNG")
        {
            checkpoint, activation, allowNonFinite, data, device, index, grid, count,
        };
        command.SetAction(r =>
        {
            var dev = CommonOptions.ResolveDevice(r.GetValue(device)!);
            string dir = CommonOptions.ResolveData(r.GetValue(data));
            var test = MnistDataSet.Load(dir, MnistSplit.Test);
            int i = r.GetValue(index);
            if (i < 0 || i >= test.Count) throw new CliException($"--index: {i} is outside the {test.Count} test images (0 to {test.Count - 1})");
            var (model, spec) = CheckpointOptions.LoadDigitClassifier(r.GetValue(checkpoint)!, r.GetValue(activation)!, dev, r.GetValue(allowNonFinite));
            using (model)
            {
                CheckpointOptions.CheckInputs(spec, r.GetValue(checkpoint)!, dir, test);
                if (r.GetValue(grid) is { } gridPath)
                    return DrawGrid(output, model, test, i, Math.Min(r.GetValue(count), test.Count - i), gridPath, dev);
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

    private static MnistDataSet Subset(MnistDataSet data, int index, int count = 1) =>
        new(data.Images.AsSpan(index * data.ImageSize, count * data.ImageSize).ToArray(), data.Labels.AsSpan(index, count).ToArray(), data.Rows, data.Cols);

    private static int DrawGrid(TextWriter output, Nn.Module model, MnistDataSet test, int first, int count, string path, Device device)
    {
        CommonOptions.CheckWritable("--grid", path);
        using var loader = DataLoader.FromMnist(Subset(test, first, count), count, device: device);
        var (x, _) = loader.First();
        var predictions = Prediction.Predict(model, x);
        var cells = predictions.Select((p, k) => new PredictionGrid.Cell(
            test.Image(first + k).ToArray(), test.Rows, test.Cols, test.Labels[first + k], p.Label, p.Probabilities[p.Label])).ToList();
        PredictionGrid.Save(path, cells);
        int wrong = cells.Count(c => c.TrueLabel != c.Predicted);
        output.WriteLine($"test images {first} to {first + count - 1}: {count - wrong} right, {wrong} wrong; grid written to {path}");
        if (TrueTypeFont.MissingNote is { } note) output.WriteLine(note);
        return 0;
    }

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
