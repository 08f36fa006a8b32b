using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Training;

public class MlpSpecTests
{
    [Test]
    public void Create_NamesLayersAsPyTorchsNet()
    {
        using var model = MlpSpec.Default.Create();
        Assert.That(model.NamedParameters().Select(p => $"{p.Name} [{string.Join(", ", p.Parameter.Shape.ToArray())}]"), Is.EqualTo(new[]
        {
            "fc1.weight [128, 784]", "fc1.bias [128]", "fc2.weight [64, 128]", "fc2.bias [64]", "fc3.weight [10, 64]", "fc3.bias [10]",
        }));
        Assert.That(MlpSpec.Default.ToString(), Is.EqualTo("784-128-64-10 relu"));
    }

    [Test]
    public void FromCheckpoint_ReadsMetadata_OrInfersWidthsFromShapes()
    {
        var spec = new MlpSpec(12, [7, 5], 3, Activation.Tanh);
        using var model = spec.Create();
        var bytes = SafetensorsWriter.ToBytes(Entries(model), spec.ToMetadata());
        Assert.That(MlpSpec.FromCheckpoint(SafetensorsReader.Read(bytes, "with-metadata")), Is.EqualTo(spec).Using<MlpSpec>(SameSpec));

        var bare = SafetensorsReader.Read(SafetensorsWriter.ToBytes(Entries(model)), "from-pytorch");
        var inferred = MlpSpec.FromCheckpoint(bare, Activation.Sigmoid);
        Assert.That(inferred, Is.EqualTo(spec with { Activation = Activation.Sigmoid }).Using<MlpSpec>(SameSpec));
    }

    [Test]
    public void FromCheckpoint_RejectsFilesThatAreNoMlp()
    {
        var file = SafetensorsReader.Read(SafetensorsWriter.ToBytes([SafetensorsEntry.FromFloats("conv1.weight", [2, 2], [1, 2, 3, 4])]), "cnn.safetensors");
        var ex = Assert.Throws<CheckpointFormatException>(() => MlpSpec.FromCheckpoint(file));
        Assert.That(ex!.Message, Does.Contain("cnn.safetensors").And.Contain("no fc1.weight"));

        file = SafetensorsReader.Read(SafetensorsWriter.ToBytes(
            [SafetensorsEntry.FromFloats("fc1.weight", [3, 4], new float[12]), SafetensorsEntry.FromFloats("fc2.weight", [2, 5], new float[10])]), "gap");
        ex = Assert.Throws<CheckpointFormatException>(() => MlpSpec.FromCheckpoint(file));
        Assert.That(ex!.Message, Does.Contain("fc2.weight takes 5 inputs but fc1 gives 3"));
    }

    [Test]
    public void FromCheckpoint_ChecksTheTensorsAgainstTheMetadataBeforeAnythingIsBuilt()
    {
        var spec = new MlpSpec(12, [7], 3, Activation.Tanh);
        using var model = spec.Create();
        var metadata = new Dictionary<string, string>(spec.ToMetadata()) { ["cudann.widths"] = "12,60000,3" };
        var file = SafetensorsReader.Read(SafetensorsWriter.ToBytes(Entries(model), metadata), "forged");
        var ex = Assert.Throws<CheckpointFormatException>(() => MlpSpec.FromCheckpoint(file));
        Assert.That(ex!.Message, Is.EqualTo("forged: tensor 'fc1.weight' has shape [7, 12], expected [60000, 12]"));
    }

    [TestCase(new[] { 784, 70000, 10 }, "width 2 is 70000; each width must be from 1 to 65536")]
    [TestCase(new[] { 784, 65536, 65536, 10 }, "784-65536-65536-10 has 4,347,133,962 parameters, more than the 268,435,456 an MLP may have")]
    [TestCase(new[] { 5 }, "an MLP needs at least two widths (inputs and outputs), got 1")]
    public void WidthsPastTheLimits_AreRefusedBeforeAllocation(int[] widths, string expected)
    {
        Assert.That(Mlp.CheckWidths(widths), Is.EqualTo(expected));
        if (widths.Length >= 2)
        {
            var ex = Assert.Throws<ArgumentException>(() => Mlp.Create(widths[0], widths[1..^1], widths[^1], Activation.ReLU));
            Assert.That(ex!.Message, Is.EqualTo(expected));
        }
    }

    [Test]
    public void ParameterShapes_AreThoseCreateMakes()
    {
        var spec = new MlpSpec(9, [7, 5], 3, Activation.GELU) { LayerNorm = true, Dropout = 0.2 };
        using var model = spec.Create();
        Assert.That(spec.ParameterShapes().Select(p => $"{p.Name} [{string.Join(", ", p.Shape)}]"),
            Is.EqualTo(model.NamedParameters().Select(p => $"{p.Name} [{string.Join(", ", p.Parameter.Shape.ToArray())}]")));
        Assert.That(Mlp.ParameterCount([9, 7, 5, 3], layerNorm: true), Is.EqualTo(model.Parameters().Sum(p => p.Value.Numel)));
    }

    internal static IEnumerable<SafetensorsEntry> Entries(CudaNn.Nn.Module model) =>
        model.NamedParameters().Select(p => SafetensorsEntry.FromFloats(p.Name, p.Parameter.Shape.ToArray().Select(d => (long)d), p.Parameter.Value.ToArray<float>()));

    private static bool SameSpec(MlpSpec a, MlpSpec b) =>
        a.Inputs == b.Inputs && a.Classes == b.Classes && a.Activation == b.Activation && a.Hidden.SequenceEqual(b.Hidden);
}
