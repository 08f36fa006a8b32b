using System.CommandLine;
using System.Globalization;
using CudaNn.Backends;
using CudaNn.Data;
using CudaNn.Training;
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
        var plan = CommonOptions.Plan();
        var command = new Command("verify", "Compare a device (a GPU, the emulator or the fast cpu backend) with the reference backend: forward, loss, gradients, one Adam step, ten steps")
        {
            device, data, plan, precision,
        };
        command.SetAction(r =>
        {
            var dev = CommonOptions.ResolveDevice(r.GetValue(device)!);
            using var planScope = CommonOptions.ApplyPlan(dev, r.GetValue(plan)!, out var stepPlan);
            using var precisionScope = CommonOptions.ApplyPrecision(dev, r.GetValue(precision)!);
            var train = MnistDataSet.Load(CommonOptions.ResolveData(r.GetValue(data)), MnistSplit.Train);
            if (stepPlan.WhyNotFor(dev, [MlpSpec.Default.Inputs, .. MlpSpec.Default.Hidden, MlpSpec.Default.Classes]) is { } whyNot)
                throw new CliException($"--plan {r.GetValue(plan)} does not apply here: {whyNot}");
            var rows = BackendComparison.Run(dev, train);
            output.WriteLine($"CudaNn verify: {dev.Name} against the reference backend, 784-128-64-10 relu, batch 64, Adam lr 1e-3" +
                (stepPlan == StepPlan.Fused ? ", fused MLP kernels" : stepPlan == StepPlan.Epilogues ? ", cuBLASLt GEMM epilogues" : "") + (r.GetValue(precision) is "tf32" or "bf16" ? $", {r.GetValue(precision)!.ToUpperInvariant()} GEMMs" : ""));
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
