using System.Diagnostics;
using CudaNn.Cuda;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;
using static CudaNn.Tests.Kernels.Emulation.EmulatorTestSupport;

namespace CudaNn.Tests.Kernels.Emulation;

/// <summary>The g++ build: entry-point discovery, the on-disk cache, compiler failures, and the same source through NVRTC.</summary>
public class EmulatorBuildTests
{
    private const string SmallSource = """
        #ifdef CUDANN_EMULATOR
        #include "cuda_emulator.h"
        #endif
        // extern "C" __global__ void commented_out(float* y) {}
        /* extern "C" __global__ void also_commented_out(float* y) {} */
        extern "C" __global__ __launch_bounds__(256) void negate(float* y, int n)
        {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = -y[i];
        }
        extern "C" __device__ void helper_is_not_an_entry_point(float* y) {}
        """;

    [Test]
    public void SourceFiles_FindEntryPointsAndDynamicSharedArrays_IgnoringComments()
    {
        var files = new EmulatorSourceFiles(SmallSource + """

            extern "C" __global__ void k(float* y) { extern __shared__ __align__(16) unsigned char raw[]; }
            extern "C" __global__ void __launch_bounds__(128) bounded_after_void(float* y) {}
            """, "small.cu");

        Assert.That(files.EntryPoints, Is.EqualTo(new[] { "negate", "k", "bounded_after_void" }));
        Assert.That(files.DynamicSharedArrays, Is.EqualTo(new[] { "raw" }));
        Assert.That(files.RuntimeUnits, Does.Contain(EmulatorSourceFiles.DynamicSharedFileName));
        Assert.That(() => new EmulatorSourceFiles(SmallSource, "../escape.cu"), Throws.ArgumentException.With.Message.Contains("escape.cu"));
    }

    [Test]
    public void SecondConstruction_TakesTheCachedLibrary_WithoutRunningTheCompiler()
    {
        using var cache = new TempDirectory();
        var options = new EmulatorOptions { CacheDirectory = cache.Path, ProgramName = "small.cu" };
        var clock = Stopwatch.StartNew();
        using (EmulatedComputeDevice first = Device(SmallSource, options))
        {
            TestContext.Out.WriteLine($"first construction (g++): {clock.ElapsedMilliseconds} ms");
            Assert.That(first.Build.FromCache, Is.False);
        }

        clock.Restart();
        // A compiler that does not exist: the second construction can only succeed if it never starts one.
        using EmulatedComputeDevice second = Device(SmallSource, options with { Compiler = Path.Combine(cache.Path, "no-such-compiler") });
        TestContext.Out.WriteLine($"second construction (cache): {clock.ElapsedMilliseconds} ms");

        Assert.That(second.Build.FromCache, Is.True);
        Assert.That(Directory.GetFiles(cache.Path), Has.Length.EqualTo(1), "one library and no build leftovers");
        Assert.That(second.KernelNames, Is.EqualTo(new[] { "negate" }));
        using IDeviceStream stream = second.CreateStream();
        DevicePtr y = Upload(second, [1f, -2f, 3f]);
        second.Launch(stream, "negate", new LaunchConfig(1, 32), new KernelArguments().Add(y).Add(3));
        Assert.That(Download(second, y, 3), Is.EqualTo(new[] { -1f, 2f, -3f }));
    }

    [Test]
    public void CompileError_ThrowsWithTheCompilerMessages_AndCachesNothing()
    {
        using var cache = new TempDirectory();
        string broken = SmallSource + "\nextern \"C\" __global__ void broken(float* y) { y[0] = undefined_identifier; }\n";

        var error = Assert.Throws<EmulatorBuildException>(() => Device(broken, new EmulatorOptions { CacheDirectory = cache.Path, ProgramName = "broken.cu" }));

        Assert.That(error!.IsCompilerMissing, Is.False);
        Assert.That(error.Message, Does.Contain("broken.cu").And.Contain("undefined_identifier"));
        Assert.That(error.CompilerOutput, Does.Contain("undefined_identifier"));
        Assert.That(Directory.GetFileSystemEntries(cache.Path), Is.Empty);
    }

    [Test]
    public void MissingCompiler_ThrowsSayingSo()
    {
        using var cache = new TempDirectory();
        var options = new EmulatorOptions { CacheDirectory = cache.Path, Compiler = Path.Combine(cache.Path, "no-such-compiler") };

        var error = Assert.Throws<EmulatorBuildException>(() => _ = new EmulatedComputeDevice(SmallSource, options));

        Assert.That(error!.IsCompilerMissing, Is.True);
        Assert.That(error.Message, Does.Contain("no-such-compiler"));
    }

    // One source, both ways: the kernels the emulator runs are plain CUDA that NVRTC accepts as well.
    [TestCase("compute_70")]
    [TestCase("compute_80")]
    [TestCase("compute_90")]
    public void TestKernels_CompileWithNvrtc(string architecture)
    {
        NvrtcCompiler nvrtc = Requirements.Nvrtc();

        NvrtcCompilation result = nvrtc.Compile(Source, ProgramName, [$"-arch={architecture}"]);

        TestContext.Out.WriteLine(result.Log);
        foreach (string kernel in new EmulatorSourceFiles(Source, ProgramName).EntryPoints)
            Assert.That(result.Ptx, Does.Contain($".entry {kernel}("), kernel);
    }
}
