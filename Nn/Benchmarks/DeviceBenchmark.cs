using System.Globalization;
using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Cuda;
using CudaNn.Data;
using CudaNn.Optim;
using CudaNn.Training;

namespace CudaNn.Benchmarks;

/// <summary>What <see cref="DeviceBenchmark.Run"/> measures, and how long.</summary>
public sealed record BenchmarkOptions
{
    /// <summary>Every section, in the order they run.</summary>
    public static readonly IReadOnlyList<string> AllSections = ["kernels", "gemms", "steps", "epochs"];

    /// <summary>
    /// kernels: every kernel of kernels.cu near the L2's size and well past it, cold, beside device-to-device copy;
    /// gemms: the MLP's GEMMs and a large square one in each precision; steps: a training step in each plan that
    /// applies at each batch size (and one eager); epochs: an epoch over the shipped digits in each plan.
    /// </summary>
    public IReadOnlyList<string> Sections { get; init; } = AllSections;

    /// <summary>Batch sizes of the GEMM and step rows; null: 64 and 1,024 on a GPU, 64 on the emulator.</summary>
    public IReadOnlyList<int>? BatchSizes { get; init; }

    /// <summary>Precisions of the GEMM and step rows.</summary>
    public IReadOnlyList<Precision> Precisions { get; init; } = [Precision.FP32];

    /// <summary>The MLP's hidden widths (784 inputs, 10 outputs around them): the seed MLP's by default.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [128, 64];

    /// <summary>Timed samples per row; null: 10 on a GPU (5 for epochs), 2 on the emulator (1 for epochs).</summary>
    public int? Samples { get; init; }

    /// <summary>Kernel sizes in elements; null: the L2's size (two float buffers fill it) and 32 times that, up to 64M, or 4,096 on the emulator.</summary>
    public IReadOnlyList<long>? KernelSizes { get; init; }

    /// <summary>What times a sample; device events by default (tests give a clock of their own).</summary>
    public IStepTimer Timer { get; init; } = DeviceEventTimer.Instance;
}

/// <summary>
/// `cudann bench`: kernels, GEMMs, training steps and epochs on one device, each row the median, fastest and slowest of
/// its samples. Kernel and GEMM samples are cold, as nvbench measures them: before each one a buffer twice the L2's size
/// (from the card's own attribute, at least 1 MiB) is overwritten, so no sample finds the previous one's data in the
/// cache; each kernel's bandwidth is set beside the device-to-device copy's at the same size. Training steps are warm, as
/// training runs them: N steps a sample, enough for a millisecond of device time. On the emulator every row runs, to check
/// the code, and its times are the host's.
/// </summary>
public static class DeviceBenchmark
{
    private const long MaxKernelSize = 64L << 20;

    /// <summary>Measures <paramref name="options"/>' sections on <paramref name="device"/>, calling <paramref name="onRow"/> with each row as it is measured.</summary>
    public static BenchmarkReport Run(CudaDevice device, BenchmarkOptions? options = null, Action<BenchmarkRow>? onRow = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        using var bench = new Session(device, options ?? new BenchmarkOptions());
        var rows = new List<BenchmarkRow>();
        void Add(BenchmarkRow row)
        {
            rows.Add(row);
            onRow?.Invoke(row);
        }
        var plan = device.Plan;
        var precision = device.Precision;
        try
        {
            foreach (string section in bench.Options.Sections)
            {
                switch (section)
                {
                    case "kernels": bench.Kernels(Add); break;
                    case "gemms": bench.Gemms(Add); break;
                    case "steps": bench.Steps(Add); break;
                    case "epochs": bench.Epochs(Add); break;
                }
            }
        }
        finally
        {
            device.Plan = plan;
            device.Precision = precision;
        }
        return Report(device, bench.Emulated, rows);
    }

    /// <summary>
    /// Your own kernel (<see cref="RawKernel"/>) measured as the kernel rows are, cold, beside device-to-device copy at the
    /// same size, at <paramref name="elements"/> (null: near the L2's size and well past it; 4,096 on the emulator). Each
    /// pointer parameter gets a tensor of that many elements of its type (float where the type is not a tensor's),
    /// filled with ones; each integer scalar gets the element count and each floating one 1. <paramref name="bytesPerElement"/>
    /// is what one launch moves per element (null: each buffer read or written once); the grid is one thread per
    /// element in blocks of <paramref name="block"/>, at most 65,535 blocks (a grid-stride loop covers the rest).
    /// </summary>
    public static BenchmarkReport RunKernel(CudaDevice device, RawKernel kernel, IReadOnlyList<long>? elements = null, double? bytesPerElement = null,
        int block = 256, BenchmarkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(kernel);
        if (block is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(block), block, "a block has 1 to 1,024 threads");
        using var bench = new Session(device, options ?? new BenchmarkOptions());
        var rows = new List<BenchmarkRow>();
        foreach (long n in elements ?? bench.DefaultKernelSizes)
        {
            if (n < 1) throw new ArgumentOutOfRangeException(nameof(elements), n, "a kernel runs over at least one element");
            var copy = bench.Copy(n);
            rows.Add(copy);
            rows.Add(bench.UserKernel(kernel, n, bytesPerElement, block, copy.GigabytesPerSecond));
        }
        return Report(device, bench.Emulated, rows);
    }

    private static BenchmarkReport Report(CudaDevice device, bool emulated, List<BenchmarkRow> rows) =>
        new($"CudaNn {typeof(DeviceBenchmark).Assembly.GetName().Version?.ToString(3)}", $"{device.Name} ({device.Description})", emulated, DateTime.UtcNow, rows)
        {
            L2CacheBytes = device.L2CacheBytes,
        };

    /// <summary>Bytes overwritten before each cold sample: twice the L2, so none of the previous sample's data is left in it; at least 1 MiB.</summary>
    internal static long FlushBytes(long l2CacheBytes) => Math.Max(2 * l2CacheBytes, 1 << 20);

    /// <summary>
    /// Kernel sizes in elements for an L2 of <paramref name="l2CacheBytes"/>: near it (two float buffers fill it, in whole
    /// 4,096s) and well past it (32 times that, at most 64M elements, so the largest case fits a small card).
    /// </summary>
    internal static long[] KernelSizes(long l2CacheBytes)
    {
        long near = Math.Max(l2CacheBytes / 8 / 4096 * 4096, 4096);
        return [near, Math.Min(32 * near, MaxKernelSize)];
    }

    /// <summary>FLOP of the forward GEMMs and both backward GEMMs per sample.</summary>
    public static long GemmFlopPerSample(MlpSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        long flop = 0;
        int inputs = spec.Inputs;
        foreach (int width in spec.Hidden.Append(spec.Classes))
        {
            flop += 6L * inputs * width;
            inputs = width;
        }
        return flop;
    }

    /// <summary>One run: the options, and the buffer whose overwriting empties the L2 between cold samples.</summary>
    private sealed class Session : IDisposable
    {
        private const int EmulatorKernelSize = 4096;
        private const int EpochBatch = 64;
        private const int EmulatorEpochSteps = 3;
        private const ulong Seed = 20240607;

        private readonly CudaDevice _device;
        private readonly BenchmarkOptions _options;

        public BenchmarkOptions Options => _options;

        public bool Emulated => _emulated;

        /// <summary>Near the L2's size and well past it on a GPU (<see cref="KernelSizes"/>); one small size on the emulator.</summary>
        public IReadOnlyList<long> DefaultKernelSizes => _emulated ? [EmulatorKernelSize] : KernelSizes(_device.L2CacheBytes);
        private readonly bool _emulated;
        private readonly long _flushBytes;
        private readonly DevicePtr _flush;
        private uint _flushValue;

        public Session(CudaDevice device, BenchmarkOptions options)
        {
            foreach (string section in options.Sections)
                if (!BenchmarkOptions.AllSections.Contains(section))
                    throw new ArgumentException($"no bench section '{section}'; the sections are {string.Join(", ", BenchmarkOptions.AllSections)}", nameof(options));
            if (options.Samples is < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Samples, "a row takes at least one sample");
            _device = device;
            _options = options;
            _emulated = device.Kind != DeviceKind.Cuda;
            _flushBytes = FlushBytes(device.L2CacheBytes);
            _flush = device.Compute.Allocate(_flushBytes, "the bench's L2 flush buffer");
        }

        private int Samples(bool epochs) => _options.Samples ?? (_emulated ? (epochs ? 1 : 2) : (epochs ? 5 : 10));

        private IReadOnlyList<int> BatchSizes => _options.BatchSizes ?? (_emulated ? [64] : [64, 1024]);

        private MlpSpec Spec => new(784, [.. _options.Hidden], 10, Activation.ReLU);

        private static string Shape(MlpSpec spec) => $"{spec.Inputs}-{string.Join("-", spec.Hidden)}-{spec.Classes}";

        /// <summary>
        /// <paramref name="samples"/> timings of <paramref name="perSample"/> runs of <paramref name="work"/> each, after one
        /// untimed run; cold ones overwrite the flush buffer before each.
        /// </summary>
        private SampleStatistics Sample(Action work, int perSample, int samples, bool cold)
        {
            work();
            var times = new double[samples];
            for (int i = 0; i < samples; i++)
            {
                if (cold) _device.Compute.Memset32(_device.Stream, _flush, ++_flushValue, _flushBytes / 4);
                times[i] = _options.Timer.MicrosecondsPerStep(_device, work, perSample);
            }
            return SampleStatistics.Of(times);
        }

        public void Kernels(Action<BenchmarkRow> add)
        {
            IReadOnlyList<long> sizes = _options.KernelSizes ?? DefaultKernelSizes;
            var compute = _device.Compute;
            var stream = _device.Stream;
            foreach (long n in sizes)
            {
                var copy = Copy(n);
                add(copy);
                foreach (var c in KernelCase.All(compute, _device.Kernels, stream, n))
                    add(Kernel(c, n, copy.GigabytesPerSecond));
            }
        }

        /// <summary>The device-to-device copy of <paramref name="n"/> float32 elements: what the kernels' bandwidth is set beside.</summary>
        public BenchmarkRow Copy(long n) =>
            Kernel(new KernelCase("device-to-device copy", 8 * n, [4 * n, 4 * n], null, b => _device.Compute.CopyDeviceToDevice(_device.Stream, b[1], b[0], 4 * n)), n, null);

        public BenchmarkRow UserKernel(RawKernel kernel, long n, double? bytesPerElement, int block, double? copyBandwidth)
        {
            var tensors = new List<Tensor>();
            try
            {
                var args = new RawKernelArguments();
                long moved = 0;
                foreach (var p in kernel.Parameters)
                {
                    if (p.IsPointer)
                    {
                        var dtype = p.ElementType ?? DType.Float32;
                        var t = Tensor.Zeros([checked((int)n)], dtype, _device);
                        if (dtype is DType.Float32 or DType.Float64) t.Backend.Fill(t, 1);
                        tensors.Add(t);
                        args.Add(t);
                        moved += n * dtype.Size();
                        continue;
                    }
                    _ = p.Type switch
                    {
                        "int" => args.Add(checked((int)n)),
                        "unsigned int" => args.Add(checked((uint)n)),
                        "long long" => args.Add(n),
                        "unsigned long long" => args.Add((ulong)n),
                        "float" => args.Add(1f),
                        _ => args.Add(1.0),
                    };
                }
                int grid = (int)Math.Clamp((n + block - 1) / block, 1, 65535);
                var stats = Sample(() => kernel.Launch((grid, 1, 1), (block, 1, 1), 0, args), 1, Samples(false), cold: true);
                long bytes = bytesPerElement is { } b ? (long)Math.Round(b * n) : moved;
                var row = new BenchmarkRow("kernels", kernel.Name, string.Create(CultureInfo.InvariantCulture, $"{n} elements"), stats) { Bytes = bytes };
                return copyBandwidth is > 0 and { } copy ? row with { PercentOfCopy = 100 * row.GigabytesPerSecond / copy } : row;
            }
            finally
            {
                _device.Stream.Synchronize();
                foreach (var t in tensors) t.Dispose();
            }
        }

        private BenchmarkRow Kernel(KernelCase c, long n, double? copyBandwidth)
        {
            var stats = SampleCold(c.Buffers, $"the bench's {c.Name} buffer", c.Setup, c.Launch);
            var row = new BenchmarkRow("kernels", c.Name, string.Create(CultureInfo.InvariantCulture, $"{n} elements"), stats) { Bytes = c.Bytes };
            return copyBandwidth is > 0 and { } copy ? row with { PercentOfCopy = 100 * row.GigabytesPerSecond / copy } : row;
        }

        /// <summary>
        /// Cold samples of <paramref name="launch"/> on buffers of <paramref name="sizes"/> bytes, filled with 1.0f and then
        /// given to <paramref name="setup"/>; the buffers are freed after, whatever happens.
        /// </summary>
        private SampleStatistics SampleCold(long[] sizes, string purpose, Action<DevicePtr[]>? setup, Action<DevicePtr[]> launch)
        {
            var compute = _device.Compute;
            var buffers = new List<DevicePtr>();
            try
            {
                foreach (long size in sizes)
                {
                    var pointer = compute.Allocate(Math.Max(size, 4), purpose);
                    buffers.Add(pointer);
                    compute.Memset32(_device.Stream, pointer, BitConverter.SingleToUInt32Bits(1.0f), Math.Max(size, 4) / 4);
                }
                DevicePtr[] b = [.. buffers];
                setup?.Invoke(b);
                return Sample(() => launch(b), 1, Samples(false), cold: true);
            }
            finally
            {
                _device.Stream.Synchronize();
                foreach (var pointer in buffers) compute.Free(pointer);
            }
        }

        public void Gemms(Action<BenchmarkRow> add)
        {
            var spec = Spec;
            int[] widths = [spec.Inputs, .. spec.Hidden, spec.Classes];
            var shapes = new List<(string Pass, GemmOp A, GemmOp B, int M, int N, int K)>();
            foreach (int batch in BatchSizes)
                for (int l = 0; l + 1 < widths.Length; l++)
                {
                    var (input, output) = (widths[l], widths[l + 1]);
                    // Column-major, as cuBLAS sees the row-major tensors: y = x·Wᵀ, dx = dy·W, dW = dyᵀ·x.
                    shapes.Add(($"forward {input}→{output}, batch {batch}", GemmOp.Transpose, GemmOp.None, output, batch, input));
                    shapes.Add(($"input gradient {output}→{input}, batch {batch}", GemmOp.None, GemmOp.None, input, batch, output));
                    shapes.Add(($"weight gradient {input}x{output}, batch {batch}", GemmOp.None, GemmOp.Transpose, input, output, batch));
                }
            int square = _emulated ? 64 : 4096;
            shapes.Add(("square", GemmOp.None, GemmOp.None, square, square, square));
            foreach (var precision in _options.Precisions)
            {
                _device.Precision = precision;
                foreach (var (pass, opA, opB, m, n, k) in shapes)
                {
                    var compute = _device.Compute;
                    int lda = opA == GemmOp.None ? m : k, ldb = opB == GemmOp.None ? k : n;
                    var stats = SampleCold([4L * m * k, 4L * k * n, 4L * m * n], "the bench's GEMM operand", null,
                        b => compute.Sgemm(_device.Stream, opA, opB, m, n, k, 1f, b[0], lda, b[1], ldb, 0f, b[2], m));
                    add(new BenchmarkRow("gemms", $"{pass}, {precision}", string.Create(CultureInfo.InvariantCulture, $"{m}x{n}x{k}"), stats) { Flop = 2.0 * m * n * k });
                }
            }
        }

        public void Steps(Action<BenchmarkRow> add)
        {
            var spec = Spec;
            int[] widths = [spec.Inputs, .. spec.Hidden, spec.Classes];
            foreach (int batch in BatchSizes)
            {
                foreach (var precision in _options.Precisions)
                {
                    _device.Precision = precision;
                    string suffix = precision == Precision.FP32 ? "" : $", {precision}";
                    foreach (var plan in Enum.GetValues<StepPlan>())
                    {
                        if (plan.WhyNotFor(_device, widths) is not null) continue;
                        _device.Plan = plan;
                        add(Step(spec, batch, graphs: true) with { Name = $"graph, {Name(plan)}{suffix}" });
                    }
                }
                _device.Precision = Precision.FP32;
                _device.Plan = StepPlan.Layers;
                add(Step(spec, batch, graphs: false) with { Name = "eager, layers" });
            }
        }

        /// <summary>The trainer's step on a fixed batch on the device: inputs uniform in [-1, 1], labels uniform over the classes.</summary>
        private BenchmarkRow Step(MlpSpec spec, int batch, bool graphs)
        {
            var generator = new Generator(Seed);
            using var model = spec.Create(generator, _device);
            using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
            using var trainer = new Trainer(model, optimizer, graphs);
            var pixels = new float[batch * spec.Inputs];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)generator.Uniform(-1, 1);
            using var x = Tensor.FromArray(pixels, [batch, spec.Inputs], _device);
            using var y = Tensor.FromArray(Enumerable.Range(0, batch).Select(_ => generator.NextInt(spec.Classes)).ToArray(), [batch], _device);
            void Run() => trainer.RunStep(x, y);
            // Eager, captured, replayed: then one replay estimates how many make a millisecond.
            Run();
            Run();
            double estimate = _options.Timer.MicrosecondsPerStep(_device, Run, 1);
            int perSample = _emulated ? 1 : (int)Math.Clamp(Math.Ceiling(1000 / Math.Max(estimate, 1e-3)), 1, 1000);
            var stats = Sample(Run, perSample, Samples(false), cold: false);
            if (model.Parameters().Any(p => p.Value.ToArray<float>().Any(v => !float.IsFinite(v))))
                throw new InvalidOperationException($"batch {batch}: the weights are no longer finite after the timed steps");
            return new BenchmarkRow("steps", "", $"{Shape(spec)}, batch {batch}", stats)
            {
                Steps = 1,
                Flop = GemmFlopPerSample(spec) * (double)batch,
                GraphNodes = graphs ? trainer.GraphNodesPerStep : null,
            };
        }

        public void Epochs(Action<BenchmarkRow> add)
        {
            var spec = Spec;
            int[] widths = [spec.Inputs, .. spec.Hidden, spec.Classes];
            var train = MnistDataSet.LoadDefault(MnistSplit.Train);
            _device.Precision = Precision.FP32;
            foreach (var plan in Enum.GetValues<StepPlan>())
            {
                if (plan.WhyNotFor(_device, widths) is not null) continue;
                _device.Plan = plan;
                using var model = spec.Create(new Generator(Seed), _device);
                using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
                using var trainer = new Trainer(model, optimizer);
                using var loader = DataLoader.FromMnist(train, EpochBatch, shuffle: true, new Generator(Seed), _device);
                long Limit() => _emulated ? trainer.Steps + EmulatorEpochSteps : long.MaxValue;
                int epoch = 0;
                long steps = 0;
                var stats = Sample(() =>
                {
                    var result = trainer.TrainEpoch(loader, ++epoch, Limit());
                    if (!double.IsFinite(result.TrainLoss)) throw new InvalidOperationException($"epoch {epoch} ({Name(plan)}): training loss {result.TrainLoss}");
                    steps = result.Steps;
                }, 1, Samples(true), cold: false);
                add(new BenchmarkRow("epochs", $"graph, {Name(plan)}", $"{train.Count} digits, batch {EpochBatch}", stats) { Steps = steps });
            }
        }

        public static string Name(StepPlan plan) => plan.ToString().ToLowerInvariant();

        public void Dispose()
        {
            _device.Stream.Synchronize();
            _device.Compute.Free(_flush);
        }
    }
}
