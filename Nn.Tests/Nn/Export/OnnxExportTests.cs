using CudaNn.Backends;
using CudaNn.Data;
using CudaNn.Export;
using CudaNn.Nn;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace CudaNn.Tests.Nn.Export;

/// <summary>The exported ONNX graph, run by ONNX Runtime on the CPU, gives the logits our CPU backend gives.</summary>
public class OnnxExportTests
{
    private const ulong Seed = 4242;
    private const int Images = 1000;
    private const float Tolerance = 1e-4f;

    [TestCase("relu", new[] { 128, 64 })]
    [TestCase("sigmoid", new[] { 33 })]
    [TestCase("tanh", new[] { 47, 19, 5 })]
    [TestCase("gelu", new[] { 64, 32 })]
    [TestCase("silu", new[] { 40 })]
    [TestCase("gelu", new[] { 48, 24 }, true)]
    [TestCase("leaky_relu:0.2", new[] { 64, 32 })] // LeakyRelu's alpha: with ONNX's default 0.01 the logits would differ
    [TestCase("leaky_relu:-0.5", new[] { 30 })]
    public void OnnxRuntimeLogits_MatchCpuBackend_On1000TestImages(string activationName, int[] hidden, bool layerNorm = false)
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        var activation = Activation.Parse(activationName);
        var spec = new MlpSpec(784, hidden, 10, activation) { LayerNorm = layerNorm, Dropout = layerNorm ? 0.1 : 0 };
        using var model = spec.Create(new Generator(Seed));
        model.Eval();
        var test = MnistDataSet.LoadDefault(MnistSplit.Test);
        using var loader = DataLoader.FromMnist(test, Images);
        var (x, _) = loader.First();
        float[] input = x.ToArray<float>();
        float[] expected = model.Forward(x).ToArray<float>();

        float[] actual = RunOnnx(OnnxExporter.ToBytes(model), input, Images);

        Assert.That(actual, Has.Length.EqualTo(expected.Length));
        float maxDiff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        TestContext.Out.WriteLine($"{spec}: max |ours - onnxruntime| = {maxDiff:E2} over {expected.Length} logits");
        Assert.That(maxDiff, Is.LessThan(Tolerance));
        Assert.That(expected.Distinct().Count(), Is.GreaterThan(expected.Length / 2), "the logits are not degenerate");
    }

    [Test]
    public void BatchDimension_IsDynamic()
    {
        using var model = MlpSpec.Default.Create(new Generator(Seed));
        byte[] onnx = OnnxExporter.ToBytes(model);
        var random = new Random(7);
        foreach (int batch in new[] { 1, 3, 17 })
        {
            float[] input = Enumerable.Range(0, batch * 784).Select(_ => (float)random.NextDouble()).ToArray();
            float[] expected = model.Forward(Tensor.FromArray(input, [batch, 784])).ToArray<float>();
            float[] actual = RunOnnx(onnx, input, batch);
            Assert.That(actual, Is.EqualTo(expected).Within(Tolerance), $"batch {batch}");
        }
    }

    [Test]
    public void Save_WritesTheSameBytesAtomically()
    {
        using var dir = new TempDirectory();
        using var model = MlpSpec.Default.Create(new Generator(Seed));
        string path = dir.File("m.onnx");
        OnnxExporter.Save(model, path);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(OnnxExporter.ToBytes(model)));
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void UnsupportedLayer_IsNamed()
    {
        using var model = new Sequential(("fc1", new Linear(4, 3)), ("odd", new Sequential(new Linear(3, 2))));
        Assert.That(() => OnnxExporter.ToBytes(model), Throws.TypeOf<NotSupportedException>().With.Message.Contain("odd"));
    }

    internal static float[] RunOnnx(byte[] model, float[] input, int batch, int inputs = 784, int outputs = 10)
    {
        using var session = new InferenceSession(model);
        Assert.That(session.InputMetadata[OnnxExporter.InputName].Dimensions, Is.EqualTo(new[] { -1, inputs }));
        var tensor = new DenseTensor<float>(input, [batch, inputs]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, tensor)]);
        var output = results.Single(r => r.Name == OnnxExporter.OutputName).AsTensor<float>();
        Assert.That(output.Dimensions.ToArray(), Is.EqualTo(new[] { batch, outputs }));
        return output.ToArray();
    }
}
