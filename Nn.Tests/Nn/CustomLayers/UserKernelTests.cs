using CudaNn.Kernels.Emulation;
using CudaNn.Nn;
using CudaNn.Tests.Nn.Backends.Cuda;
using CudaNn.Tests.TestSupport;
using CudaNn.Verification;

namespace CudaNn.Tests.Nn.CustomLayers;

/// <summary>
/// Kernels of a user's own (<see cref="RawKernel"/>, <see cref="ElementwiseKernel"/>), tested as a user would test them
/// in CI, on the emulator (and on a GPU where there is one): <see cref="BiasSwish"/>'s kernels against its float64 twin,
/// the twin against finite differences, an out-of-bounds variant caught naming itself, a wrong argument list refused
/// naming the kernel, and the layer trained inside a captured step to the CPU's weights.
/// </summary>
/// <remarks>
/// Tolerance for the kernels against the twin: float32 arithmetic on the device (expf, a sum of up to 37 rows for the
/// bias gradient) against float64, on values of order 1: 1e-5 relative to the largest element, about 100 float32 ulps.
/// </remarks>
[TestFixture(CudaDeviceFixture.Emulator)]
[TestFixture(CudaDeviceFixture.Cuda, Category = "Gpu")]
public class UserKernelTests(string device) : CudaDeviceFixture(device)
{
    private const ulong Seed = 20261207;

    [Test]
    public void BiasSwishKernels_MatchTheTwin_ForwardAndBackward()
    {
        var g = Seeded.Generator(Seed);
        const int rows = 37, features = 24;
        var x = Values(g, rows * features, 3);
        var dy = Values(g, rows * features, 1);
        using var layer = new BiasSwish(features, device: Device, generator: g);
        var bias = BiasSwish.Twin.Read(layer.NamedParameters().Single().Parameter.Value);
        using var input = Tensor.FromArray(Array.ConvertAll(x, v => (float)v), [rows, features], Device);
        input.RequiresGrad = true;
        using var upstream = Tensor.FromArray(Array.ConvertAll(dy, v => (float)v), [rows, features], Device);

        layer.ZeroGrad();
        var y = layer.Forward(input);
        var dx = layer.Backward(upstream)!;
        var (twinDx, twinDb) = BiasSwish.Twin.Backward(x, bias, dy);

        Close.Assert(BiasSwish.Twin.Forward(x, bias), BiasSwish.Twin.Read(y), 1e-5 * 3, 1e-5, "y");
        Close.Assert(twinDx, BiasSwish.Twin.Read(dx), 1e-5 * Scale(twinDx), 0, "dx");
        Close.Assert(twinDb, BiasSwish.Twin.Read(layer.NamedParameters().Single().Parameter.Grad), 1e-5 * Scale(twinDb), 0, "dbias");
    }

    [Test]
    public void ACustomOp_RefusesASecondBackward_AndShapesItDoesNotTake()
    {
        using var layer = new BiasSwish(3, device: Device);
        using var x = Tensor.Zeros([2, 3], device: Device);
        x.RequiresGrad = true;
        using var dy = Tensor.Zeros([2, 3], device: Device);
        layer.Forward(x);
        layer.Backward(dy);
        Assert.That(() => layer.Backward(dy), Throws.InvalidOperationException.With.Message.Contains("BiasSwish.Backward called a second time for one Forward"));
        layer.Forward(x);
        using var wrong = Tensor.Zeros([3, 2], device: Device);
        Assert.That(() => layer.Backward(wrong), Throws.ArgumentException.With.Message.EqualTo("BiasSwish.Backward expects a gradient shaped as its output [2, 3], got [3, 2]"));
        using var wide = Tensor.Zeros([2, 4], device: Device);
        Assert.That(() => layer.Forward(wide), Throws.ArgumentException.With.Message.EqualTo("BiasSwish(3) expects [N, 3], got [2, 4]"));
    }

    [Test]
    public void BiasSwishTwin_MatchesFiniteDifferences()
    {
        var g = Seeded.Generator(Seed);
        using var layer = new BiasSwish(6, DType.Float64, CudaNn.Device.Cpu, g);
        var results = GradCheck.Module(layer, Seeded.Tensor64(g, 5, 6), g);
        Assert.That(results.Select(r => r.Name), Is.EqualTo(new[] { "bias", "input" }));
        foreach (var r in results)
        {
            TestContext.Out.WriteLine($"{r.Name,-8} max rel {r.MaxRelativeError:E2}");
            Assert.That(r.MaxRelativeError, Is.LessThan(1e-6), r.Name);
        }
    }

    [Test]
    public void AnOutOfBoundsKernel_FailsOnTheEmulator_NamingItselfTheThreadAndTheTensor()
    {
        if (Device.Kind != DeviceKind.Emulator) Assert.Ignore("a GPU does not check a kernel's accesses; compute-sanitizer does, in the GPU check");
        // The classic bug: <= where < belongs, so the last thread writes one element past the output.
        var buggy = new RawKernel("""
            extern "C" __global__ void scale_oob(const float* x, float* y, int n)
            {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i <= n) y[i] = 2.0f * x[i];
            }
            """, "scale_oob");
        using var x = Tensor.Zeros([100], device: Device);
        using var y = Tensor.Zeros([100], device: Device);
        var error = Assert.Throws<EmulatedKernelException>(() => buggy.Launch(1, 128, x, y, 100))!;
        TestContext.Out.WriteLine(error.Message);
        Assert.That(error.Message, Does.Contain("Kernel 'scale_oob' failed on the host emulator").And.Contain("thread (100,0,0) of block (0,0,0)")
            .And.Contain("tensor storage of 100 float32 elements"));
    }

    [Test]
    public void AWrongArgumentList_IsAnArgumentExceptionNamingTheKernelAndTheParameter()
    {
        var forward = new RawKernel(BiasSwish.KernelSource, "bias_swish_forward");
        Assert.That(forward.Parameters.Select(p => $"{p.Type} {p.Name}"), Is.EqualTo(new[] { "float* x", "float* bias", "float* y", "long long n", "int features" }));
        using var x = Tensor.Zeros([4, 3], device: Device);
        using var b = Tensor.Zeros([3], device: Device);
        using var y = Tensor.Zeros([4, 3], device: Device);
        using var labels = Tensor.Zeros([3], DType.Int32, Device);
        using var onCpu = Tensor.Zeros([3]);

        Assert.That(() => forward.Launch(1, 32, x, b, y, 12L), Throws.ArgumentException.With.Message
            .EqualTo("RawKernel 'bias_swish_forward' takes 5 arguments (float* x, float* bias, float* y, long long n, int features), got 4"));
        Assert.That(() => forward.Launch(1, 32, x, labels, y, 12L, 3), Throws.ArgumentException.With.Message
            .EqualTo("RawKernel 'bias_swish_forward': argument 1 for parameter 'float* bias' must be a float32 tensor, not int32"));
        Assert.That(() => forward.Launch(1, 32, x, b, 12, 12L, 3), Throws.ArgumentException.With.Message
            .EqualTo("RawKernel 'bias_swish_forward': argument 2 for parameter 'float* y' must be a tensor, not the int 12"));
        Assert.That(() => forward.Launch(1, 32, x, b, y, 12L, 3.0), Throws.ArgumentException.With.Message
            .EqualTo("RawKernel 'bias_swish_forward': argument 4 for parameter 'int features' takes an int, not the double 3"));
        Assert.That(() => forward.Launch(1, 32, x, b, y, 12L, "3"), Throws.ArgumentException.With.Message
            .EqualTo("RawKernel 'bias_swish_forward': argument 4 for parameter 'int features' takes a tensor or an int, uint, long, ulong, float or double, not a String (3)"));
        Assert.That(() => forward.Launch(1, 32, x, onCpu, y, 12L, 3), Throws.ArgumentException.With.Message
            .Contains("runs on a GPU or the emulator; a tensor argument is on cpu"));
        Assert.That(() => new RawKernel(BiasSwish.KernelSource, "bias_swish"), Throws.ArgumentException.With.Message
            .Contains("no extern \"C\" __global__ function named 'bias_swish'; it has bias_swish_forward, bias_swish_backward, column_sums_add"));
        Assert.That(() => new RawKernel("""extern "C" __global__ void k(float2 v) { }""", "k"), Throws.ArgumentException.With.Message
            .Contains("parameter 'v' is a float2"));
    }

    /// <summary>Typed, reused arguments: a warm launch costs the host no more than a built-in kernel's launch (fill) does.</summary>
    [Test]
    public void ALaunchWithReusedArguments_AllocatesNoMoreThanABuiltInKernelsLaunch()
    {
        var fill = new RawKernel("""
            extern "C" __global__ void fill_value(float* y, float value, long long n)
            {
                for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) y[i] = value;
            }
            """, "fill_value");
        var args = new RawKernelArguments();
        using var y = Tensor.Zeros([1000], device: Device);
        fill.Launch(4, 256, args.Clear().Add(y).Add(1.5f).Add(1000L));
        y.Backend.Fill(y, 2.5);
        Device.Synchronize();
        long start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) fill.Launch(4, 256, args.Clear().Add(y).Add(1.5f).Add(1000L));
        long raw = GC.GetAllocatedBytesForCurrentThread() - start;
        Assert.That(y.ToArray<float>(), Is.All.EqualTo(1.5f));
        start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) y.Backend.Fill(y, 2.5);
        long builtIn = GC.GetAllocatedBytesForCurrentThread() - start;
        TestContext.Out.WriteLine($"50 launches: RawKernel {raw} bytes, the built-in fill {builtIn} bytes");
        Assert.That(raw, Is.LessThanOrEqualTo(builtIn));
    }

    [Test]
    public void Defines_ComeBeforeTheSource_AndMayNameAParametersType()
    {
        var fill = new RawKernel("""
            extern "C" __global__ void fill_scalar(SCALAR* y, SCALAR value, int n)
            {
                int i = blockIdx.x * BLOCK + threadIdx.x;
                if (i < n) y[i] = value;
            }
            """, "fill_scalar", "fill_scalar.cu", new Dictionary<string, string> { ["SCALAR"] = "double", ["BLOCK"] = "64" });
        Assert.That(fill.Parameters.Select(p => (p.Type, p.ElementType)), Is.EqualTo(new (string, DType?)[] { ("double*", DType.Float64), ("double", null), ("int", null) }));
        using var y = Tensor.Zeros([100], DType.Float64, Device);
        fill.Launch(2, 64, y, 0.25, 100);
        Assert.That(y.ToArray<double>(), Is.All.EqualTo(0.25), "BLOCK is 64: two blocks cover the 100 elements");
        Assert.That(() => new RawKernel("extern \"C\" __global__ void k() { }", "k", "k.cu", new Dictionary<string, string> { ["1X"] = "2" }),
            Throws.ArgumentException.With.Message.Contains("'1X' = '2' is not a macro name"));
    }

    [Test]
    public void WhatTheEmulatorCannotRun_IsRefusedNamingTheConstruct()
    {
        if (Device.Kind != DeviceKind.Emulator) Assert.Ignore("a GPU runs inline PTX");
        var lane = new RawKernel("""
            extern "C" __global__ void lane_ids(int* out)
            {
                int lane;
                asm("mov.u32 %0, %%laneid;" : "=r"(lane));
                out[threadIdx.x] = lane;
            }
            """, "lane_ids");
        using var output = Tensor.Zeros([32], DType.Int32, Device);
        Assert.That(() => lane.Launch(1, 32, output), Throws.TypeOf<NotSupportedException>().With.Message
            .EqualTo("RawKernel 'lane_ids': the emulator cannot run inline PTX (asm); it runs such a kernel only on a GPU"));
    }

    [Test]
    public void AnElementwiseKernel_RunsItsLine_WithAScalarBroadcast()
    {
        var fma = new ElementwiseKernel("float x, float a, float y", "float z", "z = a * x + y", "saxpy_line");
        var g = Seeded.Generator(Seed);
        var xs = Values(g, 1000, 1);
        var ys = Values(g, 1000, 1);
        using var x = Tensor.FromArray(Array.ConvertAll(xs, v => (float)v), [10, 100], Device);
        using var y = Tensor.FromArray(Array.ConvertAll(ys, v => (float)v), [10, 100], Device);
        using var z = Tensor.FromArray(Enumerable.Repeat(float.NaN, 1000).ToArray(), [10, 100], Device); // poisoned: every element must be written
        fma.Launch(x, 2.5f, y, z);
        var expected = xs.Select((v, i) => (double)(2.5f * (float)v + (float)ys[i])).ToArray();
        Close.Assert(expected, BiasSwish.Twin.Read(z), 1e-6, 1e-6, "z = 2.5 x + y");

        using var wrong = Tensor.Zeros([100, 10], device: Device);
        Assert.That(() => fma.Launch(x, 2.5f, wrong, z), Throws.ArgumentException.With.Message
            .EqualTo("ElementwiseKernel 'saxpy_line': 'y' is [100, 10] but 'x' is [10, 100]"));
        Assert.That(() => fma.Launch(x, 2.5f, y, 1f), Throws.ArgumentException.With.Message.Contains("output 'z' must be a tensor"));
    }

    /// <summary>Two epochs of 300 digits (the last batch 44) with evaluation between; tolerance as in the training-flow tests: 1% of Σ lr, 0.1% of weights up to Σ lr.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void BiasSwish_TrainsInsideACapturedStep_ToTheCpusWeights(bool graphs)
    {
        var reference = Train(CudaNn.Device.Cpu, graphs: false);
        var actual = Train(Device, graphs);
        double summedRates = 2 * 5 * 1e-3;
        Close.AssertAlmostAll(reference.Weights, actual.Weights, 0.01 * summedRates, summedRates, 0.001, "weights after 2 epochs");
        Assert.That(actual.Correct, Is.EqualTo(reference.Correct).Within(2), "correct test digits");
        Assert.That(actual.Captures, Is.EqualTo(graphs ? 2 : 0), "one graph per batch size (64 and the last 44), the user's kernels inside");
    }

    [Test]
    public void TheReadme_ShowsTheTestedSample()
    {
        string root = ReferenceFiles.Folder();
        string readme = File.ReadAllText(Path.Combine(root, "..", "..", "README.md")).Replace("\r\n", "\n");
        string sample = File.ReadAllText(Path.Combine(root, "..", "Nn", "CustomLayers", "BiasSwish.cs")).Replace("\r\n", "\n");
        string classText = sample[sample.IndexOf("public sealed class BiasSwish", StringComparison.Ordinal)..].TrimEnd();
        Assert.That(readme, Does.Contain(classText), "README's BiasSwish is Nn.Tests/Nn/CustomLayers/BiasSwish.cs");
    }

    private static (float[] Weights, long Correct, int Captures) Train(Device device, bool graphs) =>
        TwoEpochsOfDigits.Train(g => new Sequential(new Linear(784, 32, generator: g), new BiasSwish(32, generator: g), new Linear(32, 10, generator: g)), Seed, device, graphs);

    private static double[] Values(Generator g, int count, double range) => Enumerable.Range(0, count).Select(_ => g.Uniform(-range, range)).ToArray();

    private static double Scale(double[] values) => values.Max(Math.Abs);
}

/// <summary>
/// The GPU's side of a user kernel that a machine without a GPU can still check: NVRTC compiles the sample's source and
/// an ElementwiseKernel's generated one, with kernels.cu's options, for the architectures of the cards in use.
/// </summary>
public class UserKernelSourceTests
{
    [TestCase("sm_80")]
    [TestCase("sm_90")]
    public void NvrtcCompiles_TheSampleAndAGeneratedElementwiseKernel(string architecture)
    {
        var nvrtc = Requirements.Nvrtc();
        string generated = new ElementwiseKernel("float x, float a, float y", "float z", "z = a * x + y", "saxpy_line").Source(scalars: 0b010);
        foreach (var (source, program, entries) in new[]
        {
            (BiasSwish.KernelSource, "bias_swish.cu", new[] { "bias_swish_forward", "bias_swish_backward", "column_sums_add" }),
            (generated, "saxpy_line.cu", new[] { "saxpy_line" }),
        })
        {
            var compiled = nvrtc.Compile(source, program, [.. CudaNn.Kernels.KernelSource.CompileOptions, $"-arch={architecture}"]);
            foreach (string entry in entries)
                Assert.That(compiled.Ptx, Does.Contain($".entry {entry}("), $"{program} defines {entry}");
        }
        Assert.That(generated, Does.Contain("float a,").And.Contain("const float* __restrict__ x_"), "a is passed by value, x as a pointer");
    }
}
