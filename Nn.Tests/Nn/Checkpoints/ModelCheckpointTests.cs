using CudaNn.Tests.Nn.Training;
using CudaNn.Checkpoints;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.Checkpoints;

public class ModelCheckpointTests
{
    [Test]
    public void SaveThenLoad_RestoresEveryParameterExactly()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.safetensors");
        using var source = MlpSpec.Default.Create(new Generator(1));
        ModelCheckpoint.Save(source, path, MlpSpec.Default.ToMetadata());
        using var target = MlpSpec.Default.Create(new Generator(2));
        ModelCheckpoint.Load(target, SafetensorsReader.Read(path));
        Assert.That(target.Parameters().SelectMany(p => p.Value.ToArray<float>()),
            Is.EqualTo(source.Parameters().SelectMany(p => p.Value.ToArray<float>())));
    }

    [Test]
    public void HalfPrecisionWeights_AreWidened()
    {
        // A PyTorch checkpoint saved in bfloat16: 0x3F80 = 1.0, 0xC000 = -2.0, 0x3E80 = 0.25.
        using var model = new CudaNn.Nn.Sequential(("fc1", new CudaNn.Nn.Linear(1, 1)));
        byte[] One(ushort bits) => BitConverter.GetBytes(bits);
        var file = SafetensorsReader.Read(SafetensorsWriter.ToBytes(
        [
            new SafetensorsEntry("fc1.weight", SafetensorsDtype.BF16, [1, 1], One(0xC000)),
            new SafetensorsEntry("fc1.bias", SafetensorsDtype.BF16, [1], One(0x3E80)),
        ]), "bf16");
        ModelCheckpoint.Load(model, file);
        Assert.That(model.Parameters().SelectMany(p => p.Value.ToArray<float>()), Is.EqualTo(new[] { -2f, 0.25f }));
    }

    [Test]
    public void MismatchedCheckpoint_NamesWhatIsWrong_AndLeavesTheModelUntouched()
    {
        using var model = MlpSpec.Default.Create(new Generator(1));
        var before = model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray();
        using var other = new MlpSpec(784, [100, 64], 10, CudaNn.Backends.Activation.ReLU).Create();
        var file = SafetensorsReader.Read(SafetensorsWriter.ToBytes(MlpSpecTests.Entries(other)), "other.safetensors");
        var ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(model, file));
        Assert.That(ex!.Message, Does.Contain("other.safetensors").And.Contain("fc1.weight"));
        Assert.That(model.Parameters().SelectMany(p => p.Value.ToArray<float>()), Is.EqualTo(before));

        var renamed = SafetensorsReader.Read(SafetensorsWriter.ToBytes(
            MlpSpecTests.Entries(model).Select(e => new SafetensorsEntry(e.Name.Replace("fc3", "out"), e.Dtype, e.Shape, e.Data))), "renamed");
        ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(model, renamed));
        Assert.That(ex!.Message, Does.Contain("missing [fc3.weight, fc3.bias], unexpected [out.weight, out.bias]"));
    }

    [Test]
    public void NonFiniteWeights_AreRefusedByName_UnlessAllowed()
    {
        using var model = new MlpSpec(6, [5], 3, CudaNn.Backends.Activation.ReLU).Create(new Generator(2));
        var before = model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray();
        var entries = MlpSpecTests.Entries(model).Select(e =>
        {
            if (e.Name != "fc2.weight") return e;
            float[] values = e.ToFloatArray();
            values[1 * 5 + 4] = float.NaN;
            return SafetensorsEntry.FromFloats(e.Name, e.Shape, values);
        });
        var file = SafetensorsReader.Read(SafetensorsWriter.ToBytes(entries), "nan.safetensors");
        var ex = Assert.Throws<CheckpointFormatException>(() => ModelCheckpoint.Load(model, file));
        Assert.That(ex!.Message, Is.EqualTo("nan.safetensors: fc2.weight holds NaN at [1, 4]; weights and optimizer state must be finite"));
        Assert.That(model.Parameters().SelectMany(p => p.Value.ToArray<float>()), Is.EqualTo(before), "the model is untouched");

        ModelCheckpoint.Load(model, file, allowNonFinite: true);
        Assert.That(float.IsNaN(model.NamedParameters().Single(p => p.Name == "fc2.weight").Parameter.Value.ToArray<float>()[9]));
    }
}
