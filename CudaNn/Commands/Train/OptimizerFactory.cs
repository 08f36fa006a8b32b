using CudaNn.Nn;
using CudaNn.Optim;

namespace CudaNn.Cli.Commands.Train;

internal static class OptimizerFactory
{
    /// <summary>The optimizers `train` offers (--optimizer), the default first.</summary>
    public static readonly string[] Names = ["adam", "adamw", "sgd"];

    /// <summary>The optimizer named on the command line, with PyTorch's defaults but for the learning rate.</summary>
    public static Optimizer Create(string name, IEnumerable<Parameter> parameters, double lr) => name switch
    {
        "adam" => new Adam(parameters, lr: lr),
        "adamw" => new AdamW(parameters, lr: lr),
        "sgd" => new SGD(parameters, lr: lr),
        _ => throw new CliException($"--optimizer: unknown optimizer '{name}'; expected adam, adamw or sgd"),
    };
}
