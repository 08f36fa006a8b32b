using BenchmarkDotNet.Running;
using CudaNn.Bench;

// `gpu` runs the GPU suite directly (events, no BenchmarkDotNet, no SDK needed); anything else goes to BenchmarkDotNet.
if (args is ["gpu", .. var rest]) return GpuSuite.Run(rest, Console.Out);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
