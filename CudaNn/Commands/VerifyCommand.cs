using System.CommandLine;
using System.Globalization;
using CudaNn.Data;
using CudaNn.Verification;

namespace CudaNn.Cli.Commands;

/// <summary>`verify`: the device against the reference backend, tensor by tensor; exit code 1 on any failure.</summary>
internal static class VerifyCommand
{
    public static Command Create(TextWriter output)
    {
        var device = CommonOptions.Device();
        var data = CommonOptions.Data();
        var precision = CommonOptions.Precision();
        var fusedMlp = new Option<bool>("--fused-mlp") { Description = "On a GPU or the emulator, run the MLP as the fused kernels (see GpuDevice.FusedMlpMaxRows)" };
        var gemmEpilogues = new Option<bool>("--gemm-epilogues") { Description = "On a GPU or the emulator, run the MLP's bias, ReLU and bias gradients in cuBLASLt GEMM epilogues (see GpuDevice.GemmEpilogues)" };
        var command = new Command("verify", "Compare a device (a GPU, the emulator or the fast cpu backend) with the reference backend: forward, loss, gradients, one Adam step, ten steps")
        {
            device, data, fusedMlp, gemmEpilogues, precision,
        };
        command.SetAction(r =>
        {
            bool fused = r.GetValue(fusedMlp), epilogues = r.GetValue(gemmEpilogues);
            if (fused && epilogues)
                throw new CliException("--fused-mlp and --gemm-epilogues are two ways to run the MLP; choose one");
            var dev = CommonOptions.ResolveDevice(r.GetValue(device)!);
            foreach (var (asked, option) in new[] { (fused, "--fused-mlp"), (epilogues, "--gemm-epilogues") })
                if (asked && dev is not Backends.Cuda.GpuDevice)
                    throw new CliException($"{option} needs a GPU or the emulator, not {dev.Name}");
            if (dev is Backends.Cuda.GpuDevice gpu)
            {
                if (fused) gpu.FusedMlpMaxRows = int.MaxValue;
                gpu.GemmEpilogues = epilogues;
            }
            using var precisionScope = CommonOptions.ApplyPrecision(dev, r.GetValue(precision)!);
            var train = MnistDataSet.Load(CommonOptions.ResolveData(r.GetValue(data)), MnistSplit.Train);
            var rows = BackendComparison.Run(dev, train);
            output.WriteLine($"CudaNn verify: {dev.Name} against the reference backend, 784-128-64-10 relu, batch 64, Adam lr 1e-3" +
                (fused ? ", fused MLP kernels" : "") + (epilogues ? ", cuBLASLt GEMM epilogues" : "") + (r.GetValue(precision) is "tf32" or "bf16" ? $", {r.GetValue(precision)!.ToUpperInvariant()} GEMMs" : ""));
            output.WriteLine($"{"tensor",-28} {"max abs err",12} {"max rel err",12} {"l2 rel err",12} {"tolerance",12}  result  why");
            foreach (var row in rows)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{row.Tensor,-28} {row.MaxAbsError,12:0.00e+00} {row.MaxRelError,12:0.00e+00} {row.NormRelError,12:0.00e+00} {row.ToleranceText,12}  {(row.Passed ? "pass" : "FAIL"),-6}  {row.Why}"));
            int failed = rows.Count(row => !row.Passed);
            output.WriteLine(failed == 0 ? $"all {rows.Count} comparisons pass" : $"{failed} of {rows.Count} comparisons FAIL");
            return failed == 0 ? 0 : CliApp.RunError;
        });
        return command;
    }
}
