using CudaNn.Nn;

namespace CudaNn.Verification;

/// <summary>One tensor's comparison of analytic and numerical gradients.</summary>
/// <param name="MaxRelativeError">
/// max over elements of |analytic - numeric|, divided by the tensor's largest gradient magnitude: the error
/// relative to the gradient's own scale, so that elements near zero are not judged by their rounding noise.
/// </param>
public sealed record GradCheckResult(string Name, int Elements, double MaxAbsoluteError, double MaxRelativeError);

/// <summary>
/// Central finite differences, (f(x + h) - f(x - h)) / 2h, against a module's Backward, in float64 on the host device
/// the module and input are on: <see cref="Device.Reference"/> checks the oracle's own gradients, <see cref="Device.Cpu"/>
/// the fast CPU backend's. The scalar checked is f = sum(output * w) for a fixed random w, so every output element
/// contributes with its own weight.
/// </summary>
public static class GradCheck
{
    /// <summary>A gradient whose largest element is below this is judged by absolute error.</summary>
    public const double ScaleFloor = 1e-12;

    /// <summary>Checks every parameter element and every input element of <paramref name="module"/>.</summary>
    public static IReadOnlyList<GradCheckResult> Module(Module module, Tensor input, Generator generator, double step = 1e-6)
    {
        RequireFloat64(input);
        input.RequiresGrad = true;
        var output = module.Forward(input);
        var weights = new double[output.Numel];
        for (int i = 0; i < weights.Length; i++) weights[i] = generator.Uniform(-1, 1);
        using var upstream = Tensor.FromArray(weights, output.Shape);

        module.ZeroGrad();
        module.Forward(input);
        var inputGrad = module.Backward(upstream)?.ToArray<double>()
            ?? throw new InvalidOperationException("the module returned no input gradient for an input that requires one");

        double Objective()
        {
            var y = module.Forward(input).ToArray<double>();
            double sum = 0;
            for (int i = 0; i < y.Length; i++) sum += y[i] * weights[i];
            return sum;
        }

        var results = new List<GradCheckResult>();
        foreach (var (name, p) in module.NamedParameters())
            results.Add(Compare(name, p.Grad.ToArray<double>(), Numerical(p.Value, Objective, step)));
        results.Add(Compare("input", inputGrad, Numerical(input, Objective, step)));
        return results;
    }

    /// <summary>Checks a loss's gradient with respect to its first argument: <paramref name="loss"/> returns (value, gradient).</summary>
    public static GradCheckResult Loss(string name, Tensor prediction, Func<(double Value, double[] Gradient)> loss, double step = 1e-6)
    {
        RequireFloat64(prediction);
        var analytic = loss().Gradient;
        return Compare(name, analytic, Numerical(prediction, () => loss().Value, step));
    }

    /// <summary>Compares two gradients element by element.</summary>
    public static GradCheckResult Compare(string name, double[] analytic, double[] numeric)
    {
        if (analytic.Length != numeric.Length)
            throw new ArgumentException($"{name}: {analytic.Length} analytic and {numeric.Length} numeric values");
        double maxAbs = 0, scale = ScaleFloor;
        for (int i = 0; i < analytic.Length; i++)
        {
            double diff = Math.Abs(analytic[i] - numeric[i]);
            maxAbs = Math.Max(maxAbs, double.IsNaN(diff) ? double.PositiveInfinity : diff);
            scale = Math.Max(scale, Math.Max(Math.Abs(analytic[i]), Math.Abs(numeric[i])));
        }
        return new GradCheckResult(name, analytic.Length, maxAbs, maxAbs / scale);
    }

    private static double[] Numerical(Tensor x, Func<double> objective, double step)
    {
        var values = x.Span<double>();
        var grad = new double[values.Length];
        for (int i = 0; i < grad.Length; i++)
        {
            double original = x.Span<double>()[i];
            x.Span<double>()[i] = original + step;
            double plus = objective();
            x.Span<double>()[i] = original - step;
            double minus = objective();
            x.Span<double>()[i] = original;
            grad[i] = (plus - minus) / (2 * step);
        }
        return grad;
    }

    private static void RequireFloat64(Tensor t)
    {
        if (t.DType != DType.Float64 || t.Device.Kind != DeviceKind.Cpu)
            throw new ArgumentException($"gradient checks run in float64 on a host device (reference or cpu); got {t}");
    }
}
