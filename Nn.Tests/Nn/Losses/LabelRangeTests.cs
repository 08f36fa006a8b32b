using CudaNn.Nn;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Losses;

/// <summary>
/// A label outside [0, classes) is an error naming it, its row and the class count on every device: the CPU refuses it
/// in Forward; a GPU or the emulator, whose loss kernel runs without waiting for the host, records it and throws at
/// the next read of a result, once.
/// </summary>
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class LabelRangeTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    [Test]
    public void AnOutOfRangeLabel_IsNamed_AndTheNextGoodBatchReadsNormally()
    {
        using var logits = OnDevice(Tensor.FromArray(Enumerable.Range(0, 30).Select(i => Math.Sin(i)).ToArray(), [3, 10]));
        using var bad = Tensor.FromArray(new[] { 3, 7, 12 }, [3], Device);
        using var good = Tensor.FromArray(new[] { 3, 7, 9 }, [3], Device);
        using var loss = new CrossEntropyLoss();
        const string message = "label 12 in row 2 is outside [0, 10)";

        if (Device.Kind == DeviceKind.Cpu)
        {
            Assert.That(() => loss.Forward(logits, bad), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains(message));
        }
        else
        {
            var result = loss.Forward(logits, bad); // enqueued: the device reports it at the next read
            Assert.That(() => result.Item(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains(message));
            Assert.That(double.IsNaN(result.Item()), "reported once; the loss it gave is NaN");
        }

        double value = loss.Forward(logits, good).Item();
        Assert.That(double.IsFinite(value) && value > 0, $"a good batch's loss reads normally, {value}");
    }
}
