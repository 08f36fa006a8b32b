using CudaNn.Data;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.Nn.CustomLayers;

/// <summary>
/// How the custom-layer tests train a model with a layer of their own: two epochs of the first 300 training digits at
/// batch 64 (the last batch 44), Adam lr 1e-3, evaluation on the first 500 test digits after each, from a seed.
/// </summary>
internal static class TwoEpochsOfDigits
{
    /// <summary>Trains the model <paramref name="build"/> makes from the seeded generator, on <paramref name="device"/>.</summary>
    public static (float[] Weights, long Correct, int Captures) Train(Func<Generator, Sequential> build, ulong seed, Device device, bool graphs)
    {
        var train = MnistDataSet.LoadDefault(MnistSplit.Train).FirstImages(300);
        var test = MnistDataSet.LoadDefault(MnistSplit.Test).FirstImages(500);
        var g = new Generator(seed);
        using var model = build(g);
        model.To(device);
        using var optimizer = new Adam(model.Parameters(), lr: 1e-3);
        using var trainer = new Trainer(model, optimizer, graphs);
        using var loader = DataLoader.FromMnist(train, 64, shuffle: true, g, device);
        using var testLoader = DataLoader.FromMnist(test, 500, device: device);
        EvaluationResult result = null!;
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            trainer.TrainEpoch(loader, epoch);
            result = trainer.Evaluate(testLoader);
        }
        return (model.Parameters().SelectMany(p => p.Value.ToArray<float>()).ToArray(), result.Correct, trainer.GraphCaptures);
    }
}
