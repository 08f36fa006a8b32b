using CudaNn.Backends;
using CudaNn.Cuda;
using CudaNn.Kernels;

namespace CudaNn.Tests.Kernels;

/// <summary>What the launchers hand to the device: kernel, grid, block and argument values; and what they reject.</summary>
public class DeviceKernelsLaunchTests
{
    private static readonly DevicePtr X = new(0x1000), Y = new(0x2000), Z = new(0x3000), W = new(0x4000), Step = new(0x5000);
    private RecordingDevice device = null!;
    private DeviceKernels kernels = null!;
    private IDeviceStream stream = null!;

    [SetUp]
    public void SetUp()
    {
        device = new RecordingDevice();
        kernels = new DeviceKernels(device);
        stream = device.CreateStream();
    }

    [TearDown]
    public void TearDown()
    {
        stream.Dispose();
        device.Dispose();
    }

    [Test]
    public void Constructor_ResolvesEveryKernelOfKernelsCu()
    {
        Assert.That(device.Resolved, Is.EquivalentTo(ExpectedKernels.Names));
    }

    [Test]
    public void ActivationForward_PacksPointersCountAndActivation_OneFloat4PerThread()
    {
        kernels.ActivationForward(stream, new KernelActivation(4, 0.25f), X, Y, 4097);

        var launch = device.Launches.Single();
        Assert.That(launch.Kernel, Is.EqualTo("activation_forward"));
        Assert.That(launch.Config, Is.EqualTo(new LaunchConfig(5, 256)));
        Assert.That(launch.Slots.Take(3), Is.EqualTo(new ulong[] { X.Address, Y.Address, 4097 }));
        Assert.That((launch.Int(3), launch.Float(4)), Is.EqualTo((4, 0.25f)), "the activation's number and parameter");
    }

    [Test]
    public void LargeCounts_CapTheGridAtOneWave()
    {
        kernels.Axpy(stream, X, Y, 1L << 30, 0.5f);

        var launch = device.Launches.Single();
        Assert.That(launch.Config.Grid.X, Is.LessThanOrEqualTo(4 * 8));
        Assert.That(launch.Long(2), Is.EqualTo(1L << 30));
        Assert.That(launch.Float(3), Is.EqualTo(0.5f));
    }

    [Test]
    public void ZeroElements_EnqueueNothing()
    {
        kernels.ActivationForward(stream, Activation.ReLU.Kernel, DevicePtr.Null, DevicePtr.Null, 0);
        kernels.Fill(stream, DevicePtr.Null, 0, 1);
        kernels.BiasGrad(stream, DevicePtr.Null, DevicePtr.Null, 0, 10, DevicePtr.Null);

        Assert.That(device.Launches, Is.Empty);
    }

    [Test]
    public void BadArguments_ThrowNamingTheArgument()
    {
        Assert.That(() => kernels.ActivationForward(stream, Activation.ReLU.Kernel, X, Y, -1),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("n"));
        Assert.That(() => kernels.ActivationBackward(stream, Activation.ReLU.Kernel, X, DevicePtr.Null, Z, 8),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("dy").And.Message.Contains("null"));
        Assert.That(() => kernels.Copy(stream, new DevicePtr(0x1002), Y, 8),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("x").And.Message.Contains("aligned"));
        Assert.That(() => kernels.BiasActivationForward(stream, Y, X, 2, 3, new KernelActivation(-1)),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("activation"));
        Assert.That(() => kernels.ActivationForward(stream, new KernelActivation(4, float.NaN), X, Y, 1),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("activation"));
        Assert.That(() => kernels.ActivationForward(null!, Activation.ReLU.Kernel, X, Y, 1), Throws.ArgumentNullException);
        Assert.That(device.Launches, Is.Empty);
    }

    [Test]
    public void BiasActivationForward_PassesTheActivationNumber_AndAllowsNoBias()
    {
        kernels.BiasActivationForward(stream, Y, DevicePtr.Null, 64, 10, Activation.Tanh.Kernel);

        var launch = device.Launches.Single();
        Assert.That(launch.Kernel, Is.EqualTo("bias_activation_forward"));
        Assert.That(launch.Pointer(1), Is.EqualTo(DevicePtr.Null));
        Assert.That((launch.Int(2), launch.Int(3), launch.Int(4)), Is.EqualTo((64, 10, 3)));
    }

    [Test]
    public void BiasGrad_FewRows_IsOnePassWithoutWorkspace()
    {
        Assert.That(DeviceKernels.BiasGradWorkspaceBytes(256, 100), Is.Zero);

        kernels.BiasGrad(stream, X, Y, 256, 100, DevicePtr.Null);

        var launch = device.Launches.Single();
        Assert.That(launch.Kernel, Is.EqualTo("bias_grad"));
        Assert.That(launch.Config.Grid, Is.EqualTo(new Dim3(4, 1)));
    }

    [Test]
    public void BiasGrad_ManyRows_ChunksThenFinishes_AndNeedsTheWorkspace()
    {
        Assert.That(DeviceKernels.BiasGradWorkspaceBytes(10_000, 10), Is.EqualTo(40 * 10 * sizeof(float)));
        Assert.That(() => kernels.BiasGrad(stream, X, Y, 10_000, 10, DevicePtr.Null),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("workspace"));

        kernels.BiasGrad(stream, X, Y, 10_000, 10, W);

        Assert.That(device.Launches.Select(l => l.Kernel), Is.EqualTo(new[] { "bias_grad", "bias_grad_finish" }));
        Assert.That(device.Launches[0].Config.Grid, Is.EqualTo(new Dim3(1, 40)));
        Assert.That(device.Launches[1].Slots, Is.EqualTo(new ulong[] { W.Address, Y.Address, 40, 10, 1 }), "accumulating (the default)");
        device.Launches.Clear();
        kernels.BiasGrad(stream, X, Y, 10_000, 10, W, accumulate: false);
        Assert.That(device.Launches.Select(l => l.Int(l.Slots.Length - 1)), Is.EqualTo(new[] { 0, 0 }), "both passes told to write");
    }

    [TestCase(1, 1)]
    [TestCase(10, 16)]
    [TestCase(32, 32)]
    [TestCase(1500, 32)]
    public void SoftmaxCrossEntropy_UsesTheSmallestLaneGroupCoveringARow(int cols, int group)
    {
        kernels.SoftmaxCrossEntropy(stream, X, Y, Z, new DevicePtr(0x6000), DevicePtr.Null, 1000, cols, W);

        Assert.That(device.Launches.Select(l => l.Kernel), Is.EqualTo(new[] { "softmax_cross_entropy", "loss_finish" }));
        var main = device.Launches[0];
        Assert.That(main.Int(7), Is.EqualTo(group));
        Assert.That(main.Config.Grid.X, Is.EqualTo(4), "one block per 256-row chunk");
        Assert.That(main.Pointer(4), Is.EqualTo(W.Offset(4 * sizeof(double))), "hits follow the 4 double partials");
        var finish = device.Launches[1];
        Assert.That((finish.Int(2), finish.Double(3)), Is.EqualTo((4, 1000.0)));
        Assert.That(DeviceKernels.SoftmaxCrossEntropyWorkspaceBytes(1000), Is.EqualTo(4 * 12));
    }

    [Test]
    public void SoftmaxCrossEntropy_NoRows_StillFinishes_SoTheLossIsNaNAsOnTheCpu()
    {
        kernels.SoftmaxCrossEntropy(stream, DevicePtr.Null, DevicePtr.Null, DevicePtr.Null, Z, DevicePtr.Null, 0, 10, DevicePtr.Null);

        Assert.That(device.Launches.Single().Kernel, Is.EqualTo("loss_finish"));
        Assert.That(() => kernels.SoftmaxCrossEntropy(stream, X, Y, Z, W, DevicePtr.Null, 4, 0, W),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("cols"));
    }

    [Test]
    public void AdamStep_PassesTheHyperparameterAndStepAddresses_AndNeedsBoth()
    {
        var hyper = new DevicePtr(0x9000);

        var blocksDone = new DevicePtr(0xa000);

        kernels.AdamStep(stream, X, Y, Z, W, 100, hyper, decoupled: true, Step, blocksDone);

        var launch = device.Launches.Single();
        Assert.That(launch.Kernel, Is.EqualTo("adam_step"));
        Assert.That((launch.Pointer(5), launch.Int(6), launch.Pointer(7), launch.Pointer(8)), Is.EqualTo((hyper, 1, Step, blocksDone)));
        Assert.That(() => kernels.AdamStep(stream, X, Y, Z, W, 100, DevicePtr.Null, decoupled: false, Step, blocksDone),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("hyperparameters"));
        Assert.That(() => kernels.AdamStep(stream, X, Y, Z, W, 100, hyper, decoupled: false, DevicePtr.Null, blocksDone),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("step"));
        Assert.That(() => kernels.AdamStep(stream, X, Y, Z, W, 100, hyper, decoupled: false, Step, DevicePtr.Null),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("blocksDone"));
    }

    [Test]
    public void OptimizerHyperparameters_DeviceValues_FollowTheKernelsLayout()
    {
        Assert.That(new AdamHyperparameters(1e-3, 0.9, 0.999, 1e-8, 0.01, Decoupled: true).DeviceValues(),
            Is.EqualTo(new[] { 1e-3, 0.9, 0.999, 1e-8, 0.01 }));
        Assert.That(new SgdHyperparameters(0.1, 0.9, 0.25, Nesterov: true, 1e-4).DeviceValues(),
            Is.EqualTo(new[] { 0.1, 0.9, 0.25, 1.0, 1e-4 }));
        Assert.That(AdamHyperparameters.From([1e-3, 0.9, 0.999, 1e-8, 0.01], decoupled: true),
            Is.EqualTo(new AdamHyperparameters(1e-3, 0.9, 0.999, 1e-8, 0.01, Decoupled: true)), "From reads DeviceValues back");
        Assert.That(SgdHyperparameters.From([0.1, 0.9, 0.25, 1.0, 1e-4]), Is.EqualTo(new SgdHyperparameters(0.1, 0.9, 0.25, Nesterov: true, 1e-4)));
    }

    [Test]
    public void SgdStep_WithoutMomentum_PassesANullBuffer()
    {
        kernels.SgdStep(stream, X, Y, DevicePtr.Null, 10, new DevicePtr(0x9000), Step, W);

        var launch = device.Launches.Single();
        Assert.That((launch.Pointer(2), launch.Pointer(4), launch.Pointer(5), launch.Pointer(6)),
            Is.EqualTo((DevicePtr.Null, new DevicePtr(0x9000), Step, W)));
    }

    [Test]
    public void GatherNormalize_ComputesScaleAndShiftInDoubleThenRoundsToFloat()
    {
        kernels.GatherNormalize(stream, new DevicePtr(0x7001), new DevicePtr(0x8003), X, Y, Z, 64, 784, 10_000, 0.1307, 0.3081);

        var launch = device.Launches.Single();
        Assert.That(launch.Config, Is.EqualTo(new LaunchConfig(32, 256)));
        Assert.That(launch.Float(8), Is.EqualTo((float)(1.0 / (255.0 * 0.3081))));
        Assert.That(launch.Float(9), Is.EqualTo((float)(-0.1307 / 0.3081)));
        Assert.That(() => kernels.GatherNormalize(stream, X, Y, Z, W, X, 1, 1, 1, 0, 0),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("std"));
    }

    [Test]
    public void OptimizerSteps_OverNoElements_StillLaunchOneBlock_WhichCountsTheStep()
    {
        var hyper = new DevicePtr(0x9000);

        kernels.AdamStep(stream, DevicePtr.Null, DevicePtr.Null, DevicePtr.Null, DevicePtr.Null, 0, hyper, decoupled: false, Step, W);
        kernels.SgdStep(stream, DevicePtr.Null, DevicePtr.Null, DevicePtr.Null, 0, hyper, Step, W);

        Assert.That(device.Launches.Select(l => (l.Kernel, l.Config)),
            Is.EqualTo(new[] { ("adam_step", new LaunchConfig(1, 256)), ("sgd_step", new LaunchConfig(1, 256)) }));
    }

    [Test]
    public void SoftmaxCrossEntropy_UpTo256Rows_FinishesInOneLaunch_WithTheRunningTotal()
    {
        kernels.SoftmaxCrossEntropy(stream, X, Y, Z, new DevicePtr(0x6000), new DevicePtr(0x7000), 256, 10, W, new DevicePtr(0x8000));

        var launch = device.Launches.Single();
        Assert.That(launch.Kernel, Is.EqualTo("softmax_cross_entropy"));
        Assert.That((launch.Pointer(8), launch.Pointer(9), launch.Pointer(10)),
            Is.EqualTo((new DevicePtr(0x6000), new DevicePtr(0x7000), new DevicePtr(0x8000))));
    }
}
