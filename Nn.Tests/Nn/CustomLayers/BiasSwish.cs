using CudaNn.Backends.Cuda;
using CudaNn.Nn;

namespace CudaNn.Tests.Nn.CustomLayers;

/// <summary>
/// y = swish(x + bias) = z · sigmoid(z) with z = x + bias over each row's features: a <see cref="CustomOp"/> with CUDA
/// kernels of its own (RawKernel) on a GPU or the emulator and a plain C# twin on the host, which GradCheck checks (the
/// README's sample).
/// </summary>
public sealed class BiasSwish : CustomOp
{
    public const string KernelSource = """
        // z = x + bias[column]; y = z * sigmoid(z). One thread per element, grid-stride.
        extern "C" __global__ void bias_swish_forward(const float* x, const float* bias, float* y, long long n, int features)
        {
            for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
            {
                float z = x[i] + bias[i % features];
                y[i] = z / (1.0f + expf(-z));
            }
        }

        // dx = dy * swish'(z), swish'(z) = s * (1 + z * (1 - s)) with s = sigmoid(z).
        extern "C" __global__ void bias_swish_backward(const float* x, const float* bias, const float* dy, float* dx, long long n, int features)
        {
            for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
            {
                float z = x[i] + bias[i % features];
                float s = 1.0f / (1.0f + expf(-z));
                dx[i] = dy[i] * s * (1.0f + z * (1.0f - s));
            }
        }

        // dbias[j] += the sum of dx[r, j] over the rows, in row order: one thread per feature.
        extern "C" __global__ void column_sums_add(const float* dx, float* dbias, int rows, int features)
        {
            int j = blockIdx.x * blockDim.x + threadIdx.x;
            if (j >= features) return;
            float sum = 0.0f;
            for (int r = 0; r < rows; r++) sum += dx[(long long)r * features + j];
            dbias[j] += sum;
        }
        """;

    private static readonly RawKernel ForwardKernel = new(KernelSource, "bias_swish_forward", "bias_swish.cu");
    private static readonly RawKernel BackwardKernel = new(KernelSource, "bias_swish_backward", "bias_swish.cu");
    private static readonly RawKernel BiasGradKernel = new(KernelSource, "column_sums_add", "bias_swish.cu");

    private readonly RawKernelArguments _args = new();   // reused: a launch boxes and allocates nothing
    private readonly Parameter _bias;

    public BiasSwish(int features, DType dtype = DType.Float32, Device? device = null, Generator? generator = null)
    {
        Features = features;
        var start = new double[features];
        for (int j = 0; j < features; j++) start[j] = generator?.Uniform(-0.5, 0.5) ?? 0;
        _bias = new Parameter(dtype == DType.Float64 ? Tensor.FromArray(start, [features], device)
            : Tensor.FromArray(Array.ConvertAll(start, v => (float)v), [features], device));
    }

    public int Features { get; }

    protected override IEnumerable<(string Name, Parameter Parameter)> OwnParameters() => [("bias", _bias)];

    protected override int[] OutputShape(ReadOnlySpan<int> input) => input.Length == 2 && input[1] == Features ? input.ToArray()
        : throw new ArgumentException($"BiasSwish({Features}) expects [N, {Features}], got {Tensor.ShapeText(input)}");

    protected override void ForwardOnDevice(Tensor x, Tensor y) =>
        ForwardKernel.Launch(Blocks(x.Numel), 256, _args.Clear().Add(x).Add(_bias.Value).Add(y).Add(x.Numel).Add(Features));

    protected override void ForwardOnHost(Tensor x, Tensor y) => Twin.Write(y, Twin.Forward(Twin.Read(x), Twin.Read(_bias.Value)));

    protected override void BackwardOnDevice(Tensor x, Tensor y, Tensor dy, Tensor dx)
    {
        BackwardKernel.Launch(Blocks(x.Numel), 256, _args.Clear().Add(x).Add(_bias.Value).Add(dy).Add(dx).Add(x.Numel).Add(Features));
        // Reading Grad after zero_grad gives zeros: the column sums are added to it.
        BiasGradKernel.Launch((Features + 127) / 128, 128, _args.Clear().Add(dx).Add(_bias.Grad).Add(x.Shape[0]).Add(Features));
    }

    protected override void BackwardOnHost(Tensor x, Tensor y, Tensor dy, Tensor dx)
    {
        var (input, sums) = Twin.Backward(Twin.Read(x), Twin.Read(_bias.Value), Twin.Read(dy));
        Twin.Write(dx, input);
        var grad = Twin.Read(_bias.Grad);
        for (int j = 0; j < Features; j++) grad[j] += sums[j];
        Twin.Write(_bias.Grad, grad);
    }

    private static int Blocks(long n) => (int)Math.Clamp((n + 255) / 256, 1, 4096);

    /// <summary>The same arithmetic in float64 on the host: what the kernels are checked against.</summary>
    public static class Twin
    {
        public static double[] Forward(double[] x, double[] bias)
        {
            var y = new double[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                double z = x[i] + bias[i % bias.Length];
                y[i] = z / (1 + Math.Exp(-z));
            }
            return y;
        }

        public static (double[] Input, double[] Bias) Backward(double[] x, double[] bias, double[] dy)
        {
            var dx = new double[x.Length];
            var db = new double[bias.Length];
            for (int i = 0; i < x.Length; i++)
            {
                double z = x[i] + bias[i % bias.Length];
                double s = 1 / (1 + Math.Exp(-z));
                dx[i] = dy[i] * s * (1 + z * (1 - s));
                db[i % bias.Length] += dx[i];
            }
            return (dx, db);
        }

        public static double[] Read(Tensor t) => t.DType == DType.Float64 ? t.ToArray<double>() : Array.ConvertAll(t.ToArray<float>(), v => (double)v);

        public static void Write(Tensor t, double[] values)
        {
            if (t.DType == DType.Float64) t.CopyFrom<double>(values);
            else t.CopyFrom<float>(Array.ConvertAll(values, v => (float)v));
        }
    }
}
