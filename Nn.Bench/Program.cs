using BenchmarkDotNet.Running;
using CudaNn.Bench;

// `gpu` runs the GPU suite directly (events, no BenchmarkDotNet, no SDK needed) and `cpu-gemm` the GEMMs against the
// measured FMA peak; anything else goes to BenchmarkDotNet,
// from its own method so that the GPU suite runs without BenchmarkDotNet's dependencies being loadable.
if (args is ["gpu", .. var rest]) return GpuSuite.Run(rest, Console.Out);
if (args is ["cpu-gemm", .. var options]) return CpuGemmPeak.Run(options, Console.Out);
RunBenchmarkDotNet(args);
return 0;

static void RunBenchmarkDotNet(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
