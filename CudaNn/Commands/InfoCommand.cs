using System.CommandLine;
using CudaNn.Cuda;

namespace CudaNn.Cli.Commands;

/// <summary>`info`: the .NET runtime, the CUDA driver and libraries found (and where), and each GPU, or why there is none.</summary>
internal static class InfoCommand
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("info", "Show the CUDA driver, libraries and GPUs CudaNn can use, or why it cannot");
        command.SetAction(_ =>
        {
            output.Write(CudaEnvironment.Describe().ToString());
            return 0;
        });
        return command;
    }
}
