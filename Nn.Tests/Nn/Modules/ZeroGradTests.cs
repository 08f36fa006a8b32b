using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Modules;

/// <summary>
/// zero_grad as PyTorch defines it, on every path a backward can take: after ZeroGrad a backward's gradients are
/// exactly what it computes (whatever was in the buffers before), a second backward without ZeroGrad adds its own to
/// them, a cleared gradient reads as zeros, and a parameter no backward reaches is stepped on zeros. The paths: an MLP
/// Sequential (one backend operation for the stack; on a GPU also the fused kernels and the GEMM epilogues) and a
/// Sequential with a Dropout(0) between the layers, which runs each Linear's own backward.
/// </summary>
[TestFixture("cpu")]
[TestFixture("emulator")]
[TestFixture("cuda", Category = "Gpu")]
public class ZeroGradTests(string device) : AnyDeviceFixture(device, DType.Float32)
{
    private const ulong Seed = 20261201;

    public enum Path { MlpStack, LayerByLayer, FusedKernels, GemmEpilogues }

    private static Sequential Model(Path path, Generator g, Device device) => path == Path.LayerByLayer
        ? new Sequential(new Linear(12, 16, generator: g, device: device), new ReLU(), new Dropout(0.0),
            new Linear(16, 8, generator: g, device: device), new ReLU(), new Linear(8, 5, generator: g, device: device))
        : new Sequential(new Linear(12, 16, generator: g, device: device), new ReLU(),
            new Linear(16, 8, generator: g, device: device), new ReLU(), new Linear(8, 5, generator: g, device: device));

    /// <summary>Runs <paramref name="body"/> with the path's GPU setting on, and puts the defaults back.</summary>
    private void On(Path path, Action body)
    {
        if (path is Path.FusedKernels or Path.GemmEpilogues && Device is not CudaDevice)
            Assert.Ignore($"{path} is a GPU path; {Device.Name} has none");
        var gpu = Device as CudaDevice;
        try
        {
            if (path == Path.FusedKernels) gpu!.Plan = StepPlan.Fused;
            if (path == Path.GemmEpilogues) gpu!.Plan = StepPlan.Epilogues;
            body();
        }
        finally
        {
            if (gpu is not null) gpu.Plan = StepPlan.Layers;
        }
    }

    private static float[] Grads(Module model) => model.Parameters().SelectMany(p => p.Grad.ToArray<float>()).ToArray();

    [TestCase(Path.MlpStack)]
    [TestCase(Path.LayerByLayer)]
    [TestCase(Path.FusedKernels)]
    [TestCase(Path.GemmEpilogues)]
    public void AfterZeroGrad_BackwardWritesOverWhatWasThere_AndASecondBackwardAdds(Path path) => On(path, () =>
    {
        TestContext.Out.WriteLine($"seed {Seed}");
        var g = Seeded.Generator(Seed);
        using var model = Model(path, g, Device);
        using var optimizer = new Adam(model.Parameters());
        using var x = OnDevice(Seeded.Tensor64(g, 6, 12));
        using var dy = OnDevice(Seeded.Tensor64(g, 6, 5));

        optimizer.ZeroGrad();
        model.Forward(x);
        model.Backward(dy);
        var clean = Grads(model);
        Assert.That(clean.All(float.IsFinite) && clean.Any(v => v != 0), "a real gradient");

        // Poisoned buffers: a backward that added instead of writing would leave NaN in them.
        foreach (var p in model.Parameters()) p.Grad.Backend.Fill(p.Grad, double.NaN);
        optimizer.ZeroGrad();
        model.Forward(x);
        model.Backward(dy);
        Assert.That(Grads(model), Is.EqualTo(clean), "the gradient of one backward after ZeroGrad, bit for bit, over NaN");

        // Adding into the gradient sums in another order than writing it (a GEMM with beta = 1 may start from C), so
        // twice the gradient holds to float32 rounding; writing instead of adding would be off by the whole gradient.
        model.Forward(x);
        model.Backward(dy);
        Close.Assert(clean.Select(v => 2 * v).ToArray(), Grads(model), 1e-6, 1e-5, "a second backward without ZeroGrad adds the same gradient again");
    });

    [TestCase(Path.MlpStack)]
    [TestCase(Path.GemmEpilogues)]
    public void AClearedGradient_ReadsAsZeros_ThroughTheModuleOrTheOptimizer(Path path) => On(path, () =>
    {
        var g = Seeded.Generator(Seed + 1);
        using var model = Model(path, g, Device);
        using var optimizer = new Adam(model.Parameters());
        using var x = OnDevice(Seeded.Tensor64(g, 3, 12));
        using var dy = OnDevice(Seeded.Tensor64(g, 3, 5));
        model.Forward(x);
        model.Backward(dy);
        Assert.That(Grads(model).Any(v => v != 0));

        model.ZeroGrad();
        Assert.That(Grads(model).All(v => v == 0), "module.zero_grad(), then reading .grad");
        model.Forward(x);
        model.Backward(dy);
        optimizer.ZeroGrad();
        Assert.That(model.Parameters()[^1].Grad.ToArray<float>().All(v => v == 0), "optimizer.zero_grad(), then reading one .grad");
        Assert.That(Grads(model).All(v => v == 0), "and every other");

        using var loose = new Linear(4, 2, generator: g, device: Device);
        using var xs = OnDevice(Seeded.Tensor64(g, 2, 4));
        using var dys = OnDevice(Seeded.Tensor64(g, 2, 2));
        loose.Forward(xs);
        loose.Backward(dys);
        loose.ZeroGrad();
        Assert.That(loose.Parameters().SelectMany(p => p.Grad.ToArray<float>()).All(v => v == 0), "a layer without an optimizer");
    });

    [Test]
    public void AParameterNoBackwardReaches_IsSteppedOnZeros_NotOnWhatItsBufferHeld()
    {
        var g = Seeded.Generator(Seed + 2);
        using var model = Model(Path.MlpStack, g, Device);
        var unused = new Parameter(OnDevice(Seeded.Tensor64(g, 3)));
        using var optimizer = new Adam([.. model.Parameters(), unused], lr: 0.1);
        using var x = OnDevice(Seeded.Tensor64(g, 4, 12));
        using var dy = OnDevice(Seeded.Tensor64(g, 4, 5));
        var before = unused.Value.ToArray<float>();
        unused.Grad.Backend.Fill(unused.Grad, double.NaN);

        optimizer.ZeroGrad();
        model.Forward(x);
        model.Backward(dy);
        optimizer.Step();

        Assert.That(unused.Value.ToArray<float>(), Is.EqualTo(before), "Adam with a zero gradient and no weight decay leaves it where it was");
        Assert.That(model.Parameters().All(p => p.Value.ToArray<float>().All(float.IsFinite)));
        unused.Value.Dispose();
        unused.Grad.Dispose();
    }
}
