using CudaNn.Tests.Gpu;
using CudaNn.Tests.TestSupport;
using NUnit.Framework.Api;

// Runs Nn.Tests' GPU fixtures without `dotnet test`, for a machine with a GPU but no .NET SDK.
//   Nn.Tests.Gpu              the "Gpu" category: GPU twins of the device fixtures and the GPU runtime tests
//   Nn.Tests.Gpu --emulator   the emulator twins of the same device fixtures (checks this runner where there is no GPU)
// A missing GPU (or emulator) or NVRTC fails rather than skips unless CUDANN_REQUIRE_GPU (CUDANN_REQUIRE_EMULATOR) or
// CUDANN_REQUIRE_NVRTC is set to something else than 1 beforehand. Exit code: 0 when nothing failed and something ran, 1 otherwise, 2 for bad arguments.
bool emulator = args is ["--emulator"];
if (args.Length > 0 && !emulator)
{
    Console.Error.WriteLine($"Nn.Tests.Gpu: unknown arguments '{string.Join(' ', args)}'; usage: Nn.Tests.Gpu [--emulator]");
    return 2;
}
string require = emulator ? Requirements.RequireEmulator : Requirements.RequireGpu;
// NVRTC is required too: on a GPU machine a kernel test that skips for want of it hides a broken library search.
foreach (string variable in new[] { require, Requirements.RequireNvrtc })
    if (Environment.GetEnvironmentVariable(variable) is null) Environment.SetEnvironmentVariable(variable, "1");

var assembly = typeof(Requirements).Assembly;
var runner = new NUnitTestAssemblyRunner(new DefaultTestAssemblyBuilder());
// One worker, in order: the device fixtures share one GPU context per process, and the output stays readable.
runner.Load(assembly, new Dictionary<string, object> { ["NumberOfTestWorkers"] = 0 });
var listener = new ConsoleTestListener(Console.Out);
Console.WriteLine($"Nn.Tests.Gpu: {(emulator ? "emulator twins of the" : "the")} {GpuTestSelection.Category} fixtures of {assembly.GetName().Name}, " +
    $"{require}={Environment.GetEnvironmentVariable(require)}");
var clock = System.Diagnostics.Stopwatch.StartNew();
runner.Run(listener, new GpuTestSelection(emulator));
Console.WriteLine($"{listener.Passed} passed, {listener.Failed} failed, {listener.Skipped} skipped ({clock.Elapsed.TotalSeconds:F1} s)");
return listener.Failed == 0 && listener.Passed + listener.Skipped > 0 ? 0 : 1;
