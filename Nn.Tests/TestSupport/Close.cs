namespace CudaNn.Tests.TestSupport;

/// <summary>The one tolerance rule of the test suite: |actual - expected| &lt;= abs + rel * |expected|, elementwise.</summary>
public static class Close
{
    public static void Assert(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double abs, double rel, string what)
    {
        NUnit.Framework.Assert.That(actual, Has.Count.EqualTo(expected.Count), $"{what}: element count");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            double limit = abs + rel * Math.Abs(expected[i]);
            double error = Math.Abs(actual[i] - expected[i]);
            double excess = double.IsNaN(error) ? double.PositiveInfinity : error - limit;
            if (excess > worstExcess || (worst < 0 && excess > 0))
            {
                worst = i;
                worstExcess = excess;
            }
        }
        if (worst >= 0)
            NUnit.Framework.Assert.Fail(
                $"{what}: element {worst} is {actual[worst]:R}, expected {expected[worst]:R} within {abs:G3} + {rel:G3}*|expected|");
    }

    public static void Assert(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double abs, double rel, string what) =>
        Assert(expected.Select(v => (double)v).ToArray(), actual.Select(v => (double)v).ToArray(), abs, rel, what);

    public static void Assert(double expected, double actual, double abs, double rel, string what) =>
        Assert([expected], [actual], abs, rel, what);

    /// <summary>
    /// Weights Adam trained on two backends: every element within <paramref name="bound"/> (as far as any weight can
    /// travel), and all but a <paramref name="outlierFraction"/> of them within <paramref name="typical"/>.
    /// </summary>
    /// <remarks>
    /// Adam divides a gradient by its own root mean square, so where a gradient is mere rounding noise (a unit that
    /// ReLU nearly silences, ~1e-9, the size of eps) a float32 difference in the GEMM sums becomes a visible share of lr
    /// per step, on a handful of weights. Any real fault (a stale rate, a replay into the wrong buffer, a wrong kernel)
    /// moves a large share of the weights, or one by more than its whole travel.
    /// </remarks>
    public static void AssertAlmostAll(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double typical, double bound,
        double outlierFraction, string what)
    {
        Assert(expected, actual, bound, 0, $"{what} (every weight within {bound:G3})");
        int outliers = expected.Zip(actual, (e, a) => Math.Abs((double)a - e) > typical ? 1 : 0).Sum();
        NUnit.Framework.Assert.That(outliers, Is.LessThanOrEqualTo((int)(outlierFraction * expected.Count)),
            $"{what}: {outliers} of {expected.Count} weights differ by more than {typical:G3}");
    }
}

/// <summary>Seeded random data; every seed used is printed so a failure can be replayed.</summary>
public static class Seeded
{
    public static Random Random(int seed)
    {
        TestContext.Out.WriteLine($"seed = {seed}");
        return new Random(seed);
    }

    public static Generator Generator(ulong seed)
    {
        TestContext.Out.WriteLine($"seed = {seed}");
        return new Generator(seed);
    }

    public static double[] Uniform(Generator g, int count, double low = -1, double high = 1)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = g.Uniform(low, high);
        return values;
    }

    public static Tensor Tensor64(Generator g, params int[] shape) =>
        CudaNn.Tensor.FromArray(Uniform(g, shape.Aggregate(1, (a, b) => a * b)), shape);
}
