using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using CudaNn.Backends.Cpu;

namespace CudaNn.Bench;

/// <summary>One GEMM of the MNIST MLP: C[m,n] = op(A)[m,k] * op(B)[k,n] (+ C when accumulating).</summary>
public sealed record GemmShape(string Pass, int Batch, int In, int Out, bool TransA, bool TransB, int M, int N, int K, float Beta)
{
    public double Flops => 2.0 * M * N * K;

    /// <summary>The three GEMMs of one Linear(in, out) at this batch: forward, input gradient, weight gradient.</summary>
    public static IEnumerable<GemmShape> ForLinear(int batch, int inFeatures, int outFeatures)
    {
        // y[B,out] = x[B,in] * W[out,in]^T
        yield return new("fwd NT", batch, inFeatures, outFeatures, false, true, batch, outFeatures, inFeatures, 0f);
        // dx[B,in] = dy[B,out] * W[out,in]
        yield return new("dx NN", batch, inFeatures, outFeatures, false, false, batch, inFeatures, outFeatures, 0f);
        // dW[out,in] += dy[B,out]^T * x[B,in]
        yield return new("dW TN", batch, inFeatures, outFeatures, true, false, outFeatures, inFeatures, batch, 1f);
    }

    public static IEnumerable<GemmShape> ForMlp(int batch) =>
        new[] { (784, 128), (128, 64), (64, 10) }.SelectMany(l => ForLinear(batch, l.Item1, l.Item2));

    // Short: BenchmarkDotNet elides parameter values past 20 characters.
    public override string ToString() => $"{Pass[..Pass.IndexOf(' ')]} B{Batch} {In}x{Out}";
}

/// <summary>CpuGemm.Gemm (float) at every GEMM shape of the 784-128-64-10 MLP, batch 64 and 1024.</summary>
[Config(typeof(GflopsConfig))]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    public static IEnumerable<GemmShape> Shapes() => GemmShape.ForMlp(64).Concat(GemmShape.ForMlp(1024));

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.ForMlp(64).First();

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(20250611);
        _a = RandomArray(rng, Shape.M * Shape.K);
        _b = RandomArray(rng, Shape.K * Shape.N);
        _c = RandomArray(rng, Shape.M * Shape.N);
    }

    [Benchmark]
    public void Gemm()
    {
        GemmShape s = Shape;
        CpuGemm.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, _a, s.TransA ? s.M : s.K, _b, s.TransB ? s.K : s.N, s.Beta, _c, s.N);
    }

    internal static float[] RandomArray(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(rng.NextDouble() - 0.5);
        return x;
    }
}

/// <summary>All nine GEMMs of one MLP training step (forward and backward of three Linear layers).</summary>
[Config(typeof(GflopsConfig))]
public class GemmStepBenchmarks
{
    private (GemmShape Shape, float[] A, float[] B, float[] C)[] _gemms = [];

    [Params(64, 1024)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(20250611);
        _gemms = GemmShape.ForMlp(Batch)
            .Select(s => (s, GemmBenchmarks.RandomArray(rng, s.M * s.K), GemmBenchmarks.RandomArray(rng, s.K * s.N), GemmBenchmarks.RandomArray(rng, s.M * s.N)))
            .ToArray();
    }

    [Benchmark]
    public void StepGemms()
    {
        foreach (var (s, a, b, c) in _gemms)
            CpuGemm.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, s.TransA ? s.M : s.K, b, s.TransB ? s.K : s.N, s.Beta, c, s.N);
    }
}

/// <summary>Adds a GFLOP/s column: the benchmark's flops (from its shape or batch) over its mean time.</summary>
public sealed class GflopsConfig : ManualConfig
{
    public GflopsConfig() => AddColumn(new GflopsColumn());

    private sealed class GflopsColumn : IColumn
    {
        public string Id => nameof(GflopsColumn);
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "2*m*n*k summed over the GEMMs of one invocation, divided by the mean time";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
            double flops = benchmarkCase.Parameters.Items.Select(p => p.Value switch
            {
                GemmShape s => s.Flops,
                int batch when p.Name == nameof(GemmStepBenchmarks.Batch) => GemmShape.ForMlp(batch).Sum(s => s.Flops),
                _ => 0,
            }).Sum();
            return meanNs is > 0 && flops > 0 ? (flops / meanNs.Value).ToString("F1") : "-";
        }
    }
}
