using BenchmarkDotNet.Attributes;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Bench;

/// <summary>
/// One training step of PyTorch's MNIST MLP (784-128-64-10 ReLU, cross-entropy, Adam) on the CPU backend:
/// ZeroGrad, forward, loss, backward, step. 2 * B * (784*128 + 128*64 + 64*10) * 3 FLOP of GEMM per step
/// (41 MFLOP at B = 64). Inputs are uploaded once; a step allocates nothing.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private Sequential _model = null!;
    private Adam _optimizer = null!;
    private CrossEntropyLoss _lossFn = null!;
    private Tensor _x = null!;
    private Tensor _y = null!;

    [Params(64, 1024)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(20261128);
        _model = MlpSpec.Default.Create(g);
        _optimizer = new Adam(_model.Parameters(), lr: 1e-3);
        _lossFn = new CrossEntropyLoss();
        var pixels = new float[BatchSize * 784];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)g.Uniform(-1, 1);
        _x = Tensor.FromArray(pixels, [BatchSize, 784]);
        _y = Tensor.FromArray(Enumerable.Range(0, BatchSize).Select(_ => g.NextInt(10)).ToArray(), [BatchSize]);
        Step();
    }

    [Benchmark]
    public void Step()
    {
        _optimizer.ZeroGrad();
        var logits = _model.Forward(_x);
        _lossFn.Forward(logits, _y);
        _model.Backward(_lossFn.Backward());
        _optimizer.Step();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _optimizer.Dispose();
        _model.Dispose();
        _lossFn.Dispose();
        _x.Dispose();
        _y.Dispose();
    }
}
