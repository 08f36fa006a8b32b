using System.Globalization;
using System.Numerics;
using CudaNn.Export;
using CudaNn.Kernels;
using CudaNn.Nn;

namespace CudaNn.Backends;

/// <summary>
/// An elementwise activation function, and the one place that describes it: its name on the command line and in
/// checkpoints, its number in kernels.cu, its CPU twin, its module and its ONNX nodes. Two are equal when their names
/// and parameters are.
/// </summary>
public abstract class Activation : IEquatable<Activation>
{
    private readonly int _kernelNumber;

    private protected Activation(string name, int kernelNumber)
    {
        Name = name;
        _kernelNumber = kernelNumber;
    }

    /// <summary>y = x.</summary>
    public static Activation Identity { get; } = new IdentityFunction();

    /// <summary>y = max(x, 0) (torch.nn.ReLU).</summary>
    public static Activation ReLU { get; } = new ReLUFunction();

    /// <summary>y = 1 / (1 + exp(-x)) (torch.nn.Sigmoid).</summary>
    public static Activation Sigmoid { get; } = new SigmoidFunction();

    /// <summary>y = tanh(x) (torch.nn.Tanh).</summary>
    public static Activation Tanh { get; } = new TanhFunction();

    /// <summary>y = x Φ(x), Φ the standard normal CDF (torch.nn.GELU, approximate='none').</summary>
    public static Activation GELU { get; } = new GELUFunction();

    /// <summary>y = x sigmoid(x) (torch.nn.SiLU).</summary>
    public static Activation SiLU { get; } = new SiLUFunction();

    /// <summary>y = x for x &gt; 0, else <paramref name="negativeSlope"/> x (torch.nn.LeakyReLU).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The slope is not a finite float32.</exception>
    public static Activation LeakyReLU(double negativeSlope = 0.01) => new LeakyReLUFunction(negativeSlope);

    /// <summary>The activations a model is built with by name, each with its default parameter: what <see cref="Parse"/> knows besides identity.</summary>
    public static IReadOnlyList<Activation> Nonlinear { get; } = [ReLU, Sigmoid, Tanh, GELU, SiLU, LeakyReLU()];

    /// <summary>The lower-case name, as PyTorch's functional form spells it: "relu", "leaky_relu".</summary>
    public string Name { get; }

    /// <summary>The one parameter of a parameterised activation (leaky ReLU's negative slope), else null.</summary>
    public virtual double? Parameter => null;

    /// <summary>
    /// Parses a name, optionally with a parameter after a colon: "relu", "leaky_relu" (slope 0.01), "leaky_relu:0.2".
    /// The inverse of <see cref="ToString"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name, a parameter an activation does not take, or one that is not a number.</exception>
    public static Activation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':');
        string name = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        var known = name == Identity.Name ? Identity : Nonlinear.FirstOrDefault(a => a.Name == name)
            ?? throw new ArgumentException($"unknown activation '{text}'; expected {string.Join(", ", Nonlinear.Select(a => a.Name))}"
                                           + $" (with a parameter as {LeakyReLU(0.2)})");
        if (colon < 0) return known;
        string parameter = text[(colon + 1)..].Trim();
        if (!double.TryParse(parameter, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw new ArgumentException($"activation '{text}': '{parameter}' is not a number");
        if (known.ParameterProblem(value) is { } problem)
            throw new ArgumentException($"activation '{text}': {problem}");
        return known.WithParameter(value);
    }

    /// <summary>The name, and the parameter after a colon where there is one ("leaky_relu:0.2"): what <see cref="Parse"/> reads.</summary>
    public override string ToString() =>
        Parameter is { } p ? $"{Name}:{p.ToString("R", CultureInfo.InvariantCulture)}" : Name;

    public bool Equals(Activation? other) => other is not null && other.Name == Name && other.Parameter == Parameter;

    public override bool Equals(object? obj) => Equals(obj as Activation);

    public override int GetHashCode() => HashCode.Combine(Name, Parameter);

    public static bool operator ==(Activation? left, Activation? right) => left?.Equals(right) ?? right is null;

    public static bool operator !=(Activation? left, Activation? right) => !(left == right);

    /// <summary>kernels.cu's number and parameter, as with_activation takes them.</summary>
    internal KernelActivation Kernel => new(_kernelNumber, (float)(Parameter ?? 0));

    /// <summary>True when the backward takes the forward's input x rather than its output y (so a layer keeps x).</summary>
    internal abstract bool BackwardReadsInput { get; }

    /// <summary>act(x) for one element, in the element type: the CPU twin of kernels.cu's forward.</summary>
    internal abstract T Forward<T>(T x) where T : IFloatingPointIeee754<T>;

    /// <summary>act'(x) from what the backward keeps: y, or x where <see cref="BackwardReadsInput"/>.</summary>
    internal abstract T Slope<T>(T saved) where T : IFloatingPointIeee754<T>;

    /// <summary>The layer that applies this activation.</summary>
    internal abstract ActivationModule NewModule();

    /// <summary>Writes the nodes that compute output = act(input) in opset 17, the last one named <paramref name="name"/>.</summary>
    internal abstract void WriteOnnx(OnnxGraph graph, string name, string input, string output);

    /// <summary>Why <paramref name="value"/> cannot be this activation's parameter, or null when it can.</summary>
    private protected virtual string? ParameterProblem(double value) => null;

    private protected virtual Activation WithParameter(double value) =>
        throw new ArgumentException($"activation '{Name}' takes no parameter (got {value.ToString(CultureInfo.InvariantCulture)})");

    private sealed class IdentityFunction() : Activation("identity", 0)
    {
        internal override bool BackwardReadsInput => false;
        internal override T Forward<T>(T x) => x;
        internal override T Slope<T>(T y) => T.One;
        internal override ActivationModule NewModule() => throw new NotSupportedException("no module applies the identity; leave the layer out");
        internal override void WriteOnnx(OnnxGraph graph, string name, string input, string output) => graph.Node("Identity", name, [input], output);
    }

    private sealed class ReLUFunction() : Activation("relu", 1)
    {
        internal override bool BackwardReadsInput => false;
        internal override T Forward<T>(T x) => T.Max(x, T.Zero); // NaN stays NaN, as torch.relu
        internal override T Slope<T>(T y) => y > T.Zero ? T.One : T.Zero;
        internal override ActivationModule NewModule() => new Nn.ReLU();
        internal override void WriteOnnx(OnnxGraph graph, string name, string input, string output) => graph.Node("Relu", name, [input], output);
    }

    private sealed class SigmoidFunction() : Activation("sigmoid", 2)
    {
        internal override bool BackwardReadsInput => false;
        internal override T Forward<T>(T x) => T.One / (T.One + T.Exp(-x));
        internal override T Slope<T>(T y) => y * (T.One - y);
        internal override ActivationModule NewModule() => new Nn.Sigmoid();
        internal override void WriteOnnx(OnnxGraph graph, string name, string input, string output) => graph.Node("Sigmoid", name, [input], output);
    }

    private sealed class TanhFunction() : Activation("tanh", 3)
    {
        internal override bool BackwardReadsInput => false;
        internal override T Forward<T>(T x) => T.Tanh(x);
        internal override T Slope<T>(T y) => T.One - y * y;
        internal override ActivationModule NewModule() => new Nn.Tanh();
        internal override void WriteOnnx(OnnxGraph graph, string name, string input, string output) => graph.Node("Tanh", name, [input], output);
    }

    private sealed class GELUFunction() : Activation("gelu", 4)
    {
        private const double Sqrt1Over2 = 0.70710678118654752440;

        internal override bool BackwardReadsInput => true;

        // PyTorch's x * 0.5 * (1 + erf(x / √2)) and its derivative Φ(x) + x φ(x); .NET has no erf, so both are
        // computed in float64 (see Erf) and rounded to the element type once.
        internal override T Forward<T>(T x)
        {
            double v = double.CreateTruncating(x);
            return T.CreateTruncating(v * 0.5 * (1 + Erf(v * Sqrt1Over2)));
        }

        internal override T Slope<T>(T x)
        {
            double v = double.CreateTruncating(x);
            double cdf = 0.5 * (1 + Erf(v * Sqrt1Over2));
            double pdf = 2 / Math.Sqrt(Math.PI) * Sqrt1Over2 * 0.5 * Math.Exp(v * v * -0.5);
            return T.CreateTruncating(cdf + v * pdf);
        }

        internal override ActivationModule NewModule() => new Nn.GELU();

        // Opset 17 has no Gelu: x * 0.5 * (1 + Erf(x / √2)), the nodes torch.onnx.export writes before opset 20.
        internal override void WriteOnnx(OnnxGraph graph, string name, string input, string output)
        {
            string sqrt2 = graph.Constant("onnx::sqrt2", MathF.Sqrt(2)), one = graph.Constant("onnx::one", 1f), half = graph.Constant("onnx::half", 0.5f);
            graph.Node("Div", $"{name}.div", [input, sqrt2], $"{name}.scaled");
            graph.Node("Erf", $"{name}.erf", [$"{name}.scaled"], $"{name}.erf");
            graph.Node("Add", $"{name}.add", [$"{name}.erf", one], $"{name}.sum");
            graph.Node("Mul", $"{name}.mul", [input, $"{name}.sum"], $"{name}.product");
            graph.Node("Mul", name, [$"{name}.product", half], output);
        }

        /// <summary>
        /// The error function, to within a few units of float64 rounding: erf(x) = 2/√π e^(-x²) Σ (2x²)^n x / (1·3·…·(2n+1)),
        /// a series of positive terms (so nothing cancels), for |x| &lt; 6; beyond, erf is ±1 to float64 precision
        /// (erfc(6) ≈ 2e-17).
        /// </summary>
        internal static double Erf(double x)
        {
            if (double.IsNaN(x)) return x;
            double a = Math.Abs(x);
            if (a >= 6) return Math.Sign(x);
            double twoXSquared = 2 * a * a, term = a, sum = a;
            for (int n = 1; term > 1e-17 * sum; n++)
            {
                term *= twoXSquared / (2 * n + 1);
                sum += term;
            }
            double erf = 2 / Math.Sqrt(Math.PI) * Math.Exp(-a * a) * sum;
            return x < 0 ? -erf : erf;
        }
    }

    private sealed class SiLUFunction() : Activation("silu", 5)
    {
        internal override bool BackwardReadsInput => true;
        internal override T Forward<T>(T x) => x / (T.One + T.Exp(-x));

        internal override T Slope<T>(T x)
        {
            T s = T.One / (T.One + T.Exp(-x));
            return s * (T.One + x * (T.One - s));
        }

        internal override ActivationModule NewModule() => new Nn.SiLU();

        // Opset 17 has no SiLU: x * Sigmoid(x).
        internal override void WriteOnnx(OnnxGraph graph, string name, string input, string output)
        {
            graph.Node("Sigmoid", $"{name}.sigmoid", [input], $"{name}.sigmoid");
            graph.Node("Mul", name, [input, $"{name}.sigmoid"], output);
        }
    }

    // PyTorch's backward reads the input (the output's sign says nothing when the slope is negative), so this one does too.
    private sealed class LeakyReLUFunction : Activation
    {
        private readonly double _negativeSlope;

        public LeakyReLUFunction(double negativeSlope) : base("leaky_relu", 6)
        {
            if (ParameterProblem(negativeSlope) is { } problem)
                throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, problem);
            _negativeSlope = negativeSlope;
        }

        public override double? Parameter => _negativeSlope;
        internal override bool BackwardReadsInput => true;
        internal override T Forward<T>(T x) => x > T.Zero ? x : x * T.CreateTruncating(_negativeSlope);
        internal override T Slope<T>(T x) => x > T.Zero ? T.One : T.CreateTruncating(_negativeSlope);
        internal override ActivationModule NewModule() => new Nn.LeakyReLU(_negativeSlope);

        internal override void WriteOnnx(OnnxGraph graph, string name, string input, string output) =>
            graph.Node("LeakyRelu", name, [input], output, ("alpha", (float)_negativeSlope));

        private protected override string? ParameterProblem(double value) =>
            double.IsFinite(value) && float.IsFinite((float)value) ? null : "leaky_relu's negative slope must be a finite float32";

        private protected override Activation WithParameter(double value) => new LeakyReLUFunction(value);
    }
}
