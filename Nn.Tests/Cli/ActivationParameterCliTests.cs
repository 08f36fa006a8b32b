using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Nn;
using CudaNn.Tests.Nn.Export;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Cli;

/// <summary>
/// An activation's parameter (leaky ReLU's negative slope) travels from `--activation leaky_relu:0.2` into the
/// checkpoint, back out of it on resume, eval and export, and into the ONNX graph as LeakyRelu's alpha.
/// </summary>
public class ActivationParameterCliTests
{
    [Test]
    public void LeakyReLUSlope_RoundTripsThroughCheckpointResumeEvalAndOnnx()
    {
        using var dir = new TempDirectory();
        string data = SmallMnist(dir, 300, 100);
        string a = dir.File("a.safetensors"), b = dir.File("b.safetensors"), onnx = dir.File("m.onnx");

        var train = Run("train", "--data", data, "--hidden", "16", "--batch-size", "50", "--epochs", "1", "--seed", "3",
            "--activation", "leaky_relu:0.2", "--device", "cpu", "--save", a);
        Assert.That(train.Code, Is.Zero, train.Error);
        Assert.That(train.Output, Does.Contain("784-16-10 leaky_relu:0.2"));
        var file = SafetensorsReader.Read(a);
        Assert.That(file.Metadata["cudann.activation"], Is.EqualTo("leaky_relu:0.2"));
        Assert.That(MlpSpec.FromCheckpoint(file).Activation, Is.EqualTo(Activation.LeakyReLU(0.2)));

        var resumed = Run("train", "--resume", a, "--data", data, "--epochs", "2", "--device", "cpu", "--save", b);
        Assert.That(resumed.Code, Is.Zero, resumed.Error);
        Assert.That(resumed.Output, Does.Contain("784-16-10 leaky_relu:0.2"), "the resumed model keeps the slope");
        var otherSlope = Run("train", "--resume", a, "--data", data, "--epochs", "2", "--activation", "leaky_relu:0.3", "--save", dir.File("x.safetensors"));
        Assert.That(otherSlope.Code, Is.EqualTo(2));
        Assert.That(otherSlope.Error, Does.Contain("--activation leaky_relu:0.3 differs from the checkpoint's leaky_relu:0.2"));

        // --activation only names the activation of checkpoints that record none: this one's recorded slope wins.
        var eval = Run("eval", "--checkpoint", b, "--data", data, "--activation", "relu", "--device", "cpu");
        Assert.That(eval.Code, Is.Zero, eval.Error);
        Assert.That(eval.Output, Does.Contain("leaky_relu:0.2"));

        Assert.That(Run("export", "--checkpoint", b, "--onnx", onnx).Code, Is.Zero);
        var saved = SafetensorsReader.Read(b);
        using var model = MlpSpec.FromCheckpoint(saved).Create();
        ModelCheckpoint.Load(model, saved, allowNonFinite: false);
        Assert.That(model.NamedChildren().Select(c => c.Module).OfType<LeakyReLU>().Single().NegativeSlope, Is.EqualTo(0.2));
        var input = Enumerable.Range(0, 3 * 784).Select(i => (float)Math.Sin(i * 0.37)).ToArray();
        model.Eval();
        float[] expected = model.Forward(Tensor.FromArray(input, [3, 784])).ToArray<float>();
        Assert.That(OnnxExportTests.RunOnnx(File.ReadAllBytes(onnx), input, 3), Is.EqualTo(expected).Within(1e-5f),
            "ONNX Runtime's LeakyRelu uses the slope 0.2 (alpha), not its default 0.01");
    }

    [TestCase("leaky_relu:x", "is not a number")]
    [TestCase("relu:0.5", "takes no parameter")]
    [TestCase("leaky_relu:1e300", "finite float32")]
    [TestCase("swish", "unknown activation")]
    public void BadActivation_IsAUsageErrorNamingIt(string activation, string message)
    {
        var result = Run("train", "--activation", activation, "--epochs", "1", "--device", "cpu");
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--activation").And.Contain(message));
    }
}
