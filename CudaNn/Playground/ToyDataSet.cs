namespace CudaNn.Cli.Playground;

/// <summary>The 2-D problems of playground.tensorflow.org.</summary>
internal enum ToyProblem
{
    Spiral,
    Circles,
    Xor,
    Gaussian,
}

/// <summary>
/// Points in the plane, x and y roughly within [-1, 1], each of class 0 or 1, made as the TensorFlow playground makes
/// them (coordinates scaled from its [-6, 6] square to [-1.2, 1.2]); noise moves each point by up to noise * 1 in x and y.
/// </summary>
internal sealed class ToyDataSet
{
    /// <summary>Half the side of the square the points and the decision-boundary picture cover.</summary>
    public const double Extent = 1.2;

    public ToyDataSet(float[] points, int[] labels)
    {
        if (points.Length != 2 * labels.Length)
            throw new ArgumentException($"{labels.Length} labels need {2 * labels.Length} coordinates, got {points.Length}");
        if (labels.Any(l => l is not (0 or 1))) throw new ArgumentException("labels must be 0 or 1");
        Points = points;
        Labels = labels;
    }

    /// <summary>x0, y0, x1, y1, ...: row-major [Count, 2].</summary>
    public float[] Points { get; }

    public int[] Labels { get; }

    public int Count => Labels.Length;

    /// <summary>The most points <see cref="Generate"/> makes: a toy problem's points and its training fit in a few megabytes.</summary>
    public const int MaxCount = 100_000;

    /// <summary>Makes <paramref name="count"/> points (half of each class) with coordinates jittered by <paramref name="noise"/> in [0, 1].</summary>
    public static ToyDataSet Generate(ToyProblem problem, int count, double noise, Generator generator)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxCount);
        if (!(noise >= 0 && noise <= 1)) throw new ArgumentOutOfRangeException(nameof(noise), noise, "noise must be in [0, 1]");
        var points = new float[2 * count];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int label = i % 2;
            var (x, y) = problem switch
            {
                ToyProblem.Spiral => Spiral(i / 2, (count + 1) / 2, label, noise, generator),
                ToyProblem.Circles => Circle(label, noise, generator),
                ToyProblem.Xor => Xor(noise, generator, out label),
                ToyProblem.Gaussian => Gaussian(label, noise, generator),
                _ => throw new ArgumentOutOfRangeException(nameof(problem), problem, null),
            };
            points[2 * i] = (float)x;
            points[2 * i + 1] = (float)y;
            labels[i] = label;
        }
        return new ToyDataSet(points, labels);
    }

    /// <summary>The first round(ratio * Count) points of a shuffled order for training, the rest for testing.</summary>
    public (ToyDataSet Train, ToyDataSet Test) Split(double trainRatio, Generator generator)
    {
        if (!(trainRatio > 0 && trainRatio < 1)) throw new ArgumentOutOfRangeException(nameof(trainRatio), trainRatio, "the train ratio must be between 0 and 1");
        int[] order = generator.Permutation(Count);
        int trainCount = Math.Clamp((int)Math.Round(trainRatio * Count), 1, Count - 1);
        return (Subset(order[..trainCount]), Subset(order[trainCount..]));
    }

    private ToyDataSet Subset(int[] indices) => new(
        indices.SelectMany(i => new[] { Points[2 * i], Points[2 * i + 1] }).ToArray(),
        indices.Select(i => Labels[i]).ToArray());

    private static double Jitter(double noise, Generator g) => g.Uniform(-1, 1) * noise * 0.2;

    /// <summary>Two arms winding 1.75 turns out from the centre, the second rotated by half a turn.</summary>
    private static (double, double) Spiral(int i, int perArm, int label, double noise, Generator g)
    {
        double r = (double)i / perArm;
        double t = 1.75 * r * 2 * Math.PI + label * Math.PI;
        return (r * Math.Sin(t) + Jitter(noise, g), r * Math.Cos(t) + Jitter(noise, g));
    }

    /// <summary>Class 0 inside radius 0.5, class 1 on a ring between 0.7 and 1.</summary>
    private static (double, double) Circle(int label, double noise, Generator g)
    {
        double r = label == 0 ? g.Uniform(0, 0.5) : g.Uniform(0.7, 1.0);
        double angle = g.Uniform(0, 2 * Math.PI);
        return (r * Math.Sin(angle) + Jitter(noise, g), r * Math.Cos(angle) + Jitter(noise, g));
    }

    /// <summary>Uniform in the square, kept a little away from the axes; class 1 where x and y have the same sign.</summary>
    private static (double, double) Xor(double noise, Generator g, out int label)
    {
        double x = g.Uniform(-1, 1), y = g.Uniform(-1, 1);
        x += x > 0 ? 0.06 : -0.06;
        y += y > 0 ? 0.06 : -0.06;
        label = x * y >= 0 ? 1 : 0;
        return (x + Jitter(noise, g), y + Jitter(noise, g));
    }

    /// <summary>Two round clusters around (0.4, 0.4) and (-0.4, -0.4) whose spread grows with the noise.</summary>
    private static (double, double) Gaussian(int label, double noise, Generator g)
    {
        double centre = label == 1 ? 0.4 : -0.4;
        double sigma = 0.1 + 0.4 * noise;
        return (centre + sigma * Normal(g), centre + sigma * Normal(g));
    }

    /// <summary>A standard normal sample by the Box-Muller transform.</summary>
    private static double Normal(Generator g) =>
        Math.Sqrt(-2 * Math.Log(1 - g.NextDouble())) * Math.Cos(2 * Math.PI * g.NextDouble());
}
