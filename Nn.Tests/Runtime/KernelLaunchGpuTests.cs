using System.Text;
using CudaNn.Cuda;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Runtime;

/// <summary>Modules, kernels, events and graphs on a real GPU, using the axpy kernel of <see cref="TestKernels"/>.</summary>
[Category("Gpu")]
public class KernelLaunchGpuTests
{
    private const int Block = 256; // axpy stages through __shared__ float[256]

    [Test]
    public void Launch_Axpy_ComputesAxPlusYForEveryElement()
    {
        CudaGpu device = Requirements.Gpu();
        using CudaModule module = device.PrimaryContext.LoadModule(GpuTestSupport.CompileTestKernels(device));
        CudaKernel axpy = module.GetKernel("axpy");
        const int n = 6 * 512 + 7;
        float[] x = GpuTestSupport.RandomFloats(n, seed: 311);
        float[] y = GpuTestSupport.RandomFloats(n, seed: 312);
        using DeviceBuffer<float> dx = device.PrimaryContext.Allocate<float>(n);
        using DeviceBuffer<float> dy = device.PrimaryContext.Allocate<float>(n);
        using CudaStream stream = device.PrimaryContext.CreateStream();
        dx.CopyFrom(x);
        dy.CopyFrom(y);

        axpy.Launch(stream, LaunchConfig.For1D(n, Block), new KernelArguments().Add(1.75f).Add(dx.Pointer).Add(dy.Pointer).Add(n));
        stream.Synchronize();

        float[] result = dy.ToArray();
        for (int i = 0; i < n; i++)
        {
            // One FP32 rounding (two without FMA contraction) of values below 3 in magnitude.
            double expected = 1.75 * x[i] + y[i];
            Assert.That(result[i], Is.EqualTo(expected).Within(1e-6), $"y[{i}]");
        }
        Assert.That(axpy.Registers, Is.GreaterThan(0));
        Assert.That(axpy.StaticSharedBytes, Is.EqualTo(Block * sizeof(float)));
        Assert.That(axpy.MaxThreadsPerBlock, Is.GreaterThanOrEqualTo(Block));
    }

    [Test]
    public void GetKernel_UnknownName_ThrowsNamingIt()
    {
        CudaGpu device = Requirements.Gpu();
        using CudaModule module = device.PrimaryContext.LoadModule(GpuTestSupport.CompileTestKernels(device));

        Assert.That(() => module.GetKernel("relu_forward"), Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("relu_forward"));
    }

    [Test]
    public void LoadModule_InvalidPtx_ThrowsWithTheJitLog()
    {
        CudaGpu device = Requirements.Gpu();
        byte[] ptx = Encoding.UTF8.GetBytes(".version 7.0\n.target sm_70\n.address_size 64\n.visible .entry broken() { this is not ptx; }\n");

        var error = Assert.Throws<CudaException>(() => device.PrimaryContext.LoadModule(ptx).Dispose());
        TestContext.Out.WriteLine(error!.Message);

        Assert.That(error.ApiName, Is.EqualTo("cuModuleLoadDataEx"));
        Assert.That(error.StatusName, Is.EqualTo("CUDA_ERROR_INVALID_PTX"));
        Assert.That(error.Message, Does.Contain("PTX image"));
    }

    [Test]
    public void Events_AroundWork_GiveAFiniteTime_OnceTheWorkHasRun()
    {
        CudaContext context = Requirements.Gpu().PrimaryContext;
        using DeviceBuffer<byte> buffer = context.Allocate<byte>(16L << 20);
        using CudaStream stream = context.CreateStream();
        using CudaEvent start = context.CreateEvent();
        using CudaEvent end = context.CreateEvent();
        var host = new byte[buffer.Length];
        Array.Fill(host, (byte)0xA5);
        buffer.CopyFrom(host);

        start.Record(stream);
        for (int i = 0; i < 8; i++)
            buffer.Clear(stream);
        end.Record(stream);
        end.Synchronize();
        float milliseconds = end.ElapsedMillisecondsSince(start);
        TestContext.Out.WriteLine($"8 clears of 16 MiB: {milliseconds:F3} ms");

        // How long it took is for the benchmarks; here the events must give a number, and the clears must have run.
        Assert.That(float.IsFinite(milliseconds), $"elapsed {milliseconds}");
        buffer.CopyTo(host);
        Assert.That(host.All(b => b == 0), "the clears ran before the end event completed");
    }

    [Test]
    public void Graph_CapturedAxpy_RunsOnlyWhenLaunchedAndOncePerLaunch()
    {
        CudaGpu device = Requirements.Gpu();
        CudaContext context = device.PrimaryContext;
        using CudaModule module = context.LoadModule(GpuTestSupport.CompileTestKernels(device));
        const int n = 1000;
        float[] x = GpuTestSupport.RandomFloats(n, seed: 411);
        float[] y = GpuTestSupport.RandomFloats(n, seed: 412);
        using DeviceBuffer<float> dx = context.Allocate<float>(n);
        using DeviceBuffer<float> dy = context.Allocate<float>(n);
        using CudaStream stream = context.CreateStream();
        dx.CopyFrom(x);
        dy.CopyFrom(y);

        CudaKernel axpy = module.GetKernel("axpy");
        stream.BeginCapture();
        axpy.Launch(stream, LaunchConfig.For1D(n, Block), new KernelArguments().Add(0.5f).Add(dx.Pointer).Add(dy.Pointer).Add(n));
        using CudaGraph graph = stream.EndCapture();
        Assert.That(dy.ToArray(), Is.EqualTo(y), "capturing must not run the kernel");

        for (int replay = 0; replay < 3; replay++)
            graph.Launch(stream);
        stream.Synchronize();

        float[] result = dy.ToArray();
        for (int i = 0; i < n; i++)
        {
            double expected = y[i] + 3 * 0.5 * x[i];
            Assert.That(result[i], Is.EqualTo(expected).Within(2e-6), $"y[{i}] after 3 replays");
        }
    }
}
