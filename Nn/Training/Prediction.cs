using CudaNn.Nn;

namespace CudaNn.Training;

/// <summary>A classifier's answer for one sample: class probabilities and the most probable class.</summary>
public sealed record Prediction(int Label, double[] Probabilities)
{
    /// <summary>Runs <paramref name="model"/> on x [N, features] in evaluation mode without gradients; softmax over each row of logits.</summary>
    public static Prediction[] Predict(Module model, Tensor x)
    {
        bool wasTraining = model.Training;
        model.Eval();
        Tensor logits;
        try
        {
            using var noGrad = GradMode.NoGrad();
            logits = model.Forward(x);
        }
        finally
        {
            model.Train(wasTraining);
        }
        int rows = logits.Shape[0], classes = logits.Shape[1];
        var values = logits.DType == DType.Float64 ? logits.ToArray<double>() : logits.ToArray<float>().Select(v => (double)v).ToArray();
        var result = new Prediction[rows];
        for (int r = 0; r < rows; r++)
        {
            var probabilities = Softmax(values.AsSpan(r * classes, classes));
            result[r] = new Prediction(Array.IndexOf(probabilities, probabilities.Max()), probabilities);
        }
        return result;
    }

    /// <summary>p_j = exp(z_j - max z) / sum_k exp(z_k - max z).</summary>
    public static double[] Softmax(ReadOnlySpan<double> logits)
    {
        double max = double.NegativeInfinity;
        foreach (double z in logits) max = Math.Max(max, z);
        var p = new double[logits.Length];
        double sum = 0;
        for (int j = 0; j < p.Length; j++) sum += p[j] = Math.Exp(logits[j] - max);
        for (int j = 0; j < p.Length; j++) p[j] /= sum;
        return p;
    }
}
