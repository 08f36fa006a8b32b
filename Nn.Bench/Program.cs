using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(CudaNn.Bench.TrainingStepBenchmarks).Assembly).Run(args);
