using System.Text.Json;
using CudaNn.Tests.Cli.Plots;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>`train --plot`, `train --json`, `predict --grid`, `playground` and `export` end to end, in process.</summary>
public class CliPictureTests
{
    [Test]
    public void TrainWithPlotAndJson_WritesCurvesAndOneJsonObjectPerEpoch()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 300, 100);
        string plot = dir.File("curves.png"), save = dir.File("m.safetensors");
        var result = Run("train", "--data", data, "--hidden", "16", "--epochs", "3", "--plot", plot, "--save", save, "--json", "--device", "cpu");
        Assert.That(result.Code, Is.Zero, result.Error);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var objects = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var epochs = objects.Where(o => o.GetProperty("event").GetString() == "epoch").ToList();
        Assert.That(epochs.Select(e => e.GetProperty("epoch").GetInt32()), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(epochs.All(e => e.GetProperty("test_accuracy").GetDouble() is > 0 and <= 1));
        var summary = objects.Last();
        Assert.That(summary.GetProperty("event").GetString(), Is.EqualTo("summary"));
        Assert.That(summary.GetProperty("saved_to").GetString(), Is.EqualTo(save));
        PngAssert.IsPicture(plot, 800, 500);
    }

    [Test]
    public void PredictGrid_DrawsTheDigitsWithLabels()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 300, 100);
        string save = dir.File("m.safetensors"), grid = dir.File("grid.png");
        Assert.That(Run("train", "--data", data, "--hidden", "16", "--epochs", "1", "--save", save, "--device", "cpu").Code, Is.Zero);
        var result = Run("predict", "--checkpoint", save, "--data", data, "--grid", grid, "--count", "25", "--index", "10");
        Assert.That(result.Code, Is.Zero, result.Error);
        Assert.That(result.Output, Does.Match(@"test images 10 to 34: \d+ right, \d+ wrong"));
        PngAssert.IsPicture(grid, 5 * (28 * 3 + 6 + 12) + 6, 22 + 5 * (28 * 3 + 20 + 6) + 6); // a legend line, then 5 rows of digits
    }

    [TestCase("spiral")]
    [TestCase("xor")]
    public void Playground_DrawsBoundaryAndLoss(string problem)
    {
        using var dir = new TempDirectory();
        string png = dir.File("p.png");
        var result = Run("playground", "--data", problem, "--epochs", "30", "--samples", "200", "--png", png);
        Assert.That(result.Code, Is.Zero, result.Error);
        Assert.That(result.Output, Does.Contain("test accuracy").And.Contain(png));
        PngAssert.IsPicture(png, 1000, 500, minColours: 30);
    }

    // In a process of its own, as the font is chosen once per process.
    [Test]
    public void WithoutAUsableFont_ThePictureHasNoText_AndTheCommandSaysSo()
    {
        using var dir = new TempDirectory();
        string png = dir.File("p.png"), missing = dir.File("none.ttf");
        var (code, output, error) = RunAsProcess(["playground", "--data", "xor", "--epochs", "5", "--samples", "100", "--png", png],
            environment: new Dictionary<string, string> { ["CUDANN_FONT"] = missing });
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain($"note: CUDANN_FONT={missing} cannot be used").And.Contain("so the picture has no text"));
        PngAssert.IsPicture(png, 1000, 500, minColours: 30);
    }

    [Test]
    public void Export_WritesAnOnnxFileThatNamesItsInputAndOutput()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 100, 50);
        string save = dir.File("m.safetensors"), onnx = dir.File("m.onnx");
        Assert.That(Run("train", "--data", data, "--hidden", "8", "--epochs", "1", "--save", save, "--device", "cpu").Code, Is.Zero);
        var result = Run("export", "--checkpoint", save, "--onnx", onnx);
        Assert.That(result.Code, Is.Zero, result.Error);
        Assert.That(result.Output, Does.Contain("opset 17").And.Contain("[batch, 784]"));
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx);
        Assert.That(session.OutputMetadata["logits"].Dimensions, Is.EqualTo(new[] { -1, 10 }));
    }
}
