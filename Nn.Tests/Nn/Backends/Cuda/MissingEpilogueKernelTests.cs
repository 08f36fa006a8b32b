using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Cuda;
using CudaNn.Data;
using CudaNn.Kernels.Emulation;
using CudaNn.Tests.TestSupport;
using CudaNn.Verification;

namespace CudaNn.Tests.Nn.Backends.Cuda;

/// <summary>
/// cuBLASLt promises no kernel for every GEMM with an epilogue. Where it has none, the epilogues plan must still train:
/// the plain GEMM and kernels do the epilogue's work (its values and its ReLU mask), with one warning per GEMM shape.
/// On the emulator, told to answer as cuBLASLt does then for every epilogue, the whole check of the plan against the
/// CPU reference must pass as it does with the epilogues.
/// </summary>
public class MissingEpilogueKernelTests
{
    [Test]
    public void WithNoEpilogueKernelAtAll_TheEpiloguesPlanMatchesTheCpuReference_AndWarnsOncePerGemm()
    {
        var device = (CudaDevice)Requirements.Emulator();
        var emulated = (EmulatedComputeDevice)device.Compute;
        var backend = (CudaBackend)device.BackendFor(DType.Float32);
        var train = MnistDataSet.LoadDefault(MnistSplit.Train);
        var error = Console.Error;
        using var warnings = new StringWriter();
        device.Plan = StepPlan.Epilogues;
        try
        {
            emulated.EpiloguesWithoutKernel.UnionWith(Enum.GetValues<GemmEpilogue>());
            backend.ForgetMissingEpilogueKernels();
            Console.SetError(warnings);
            var rows = BackendComparison.Run(device, train);
            foreach (var row in rows)
                TestContext.Out.WriteLine($"{row.Tensor,-28} abs {row.MaxAbsError:E2} rel {row.MaxRelError:E2} tol {row.ToleranceText} {(row.Passed ? "pass" : "FAIL")}");
            Assert.That(rows, Has.Count.EqualTo(22));
            Assert.That(rows.Where(r => !r.Passed).Select(r => r.Tensor), Is.Empty);

            string[] first = warnings.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            TestContext.Out.WriteLine(string.Join("\n", first));
            // The forward's Bias and ReluBias, the backward's BGRADB and DRELU_BGRAD: each a warning for each shape it met.
            foreach (string epilogue in new[] { "ReluBias", "Bias ", "ReluBackwardBiasGrad", "BiasGradFromB" })
                Assert.That(first.Count(w => w.Contains($"the {epilogue}")), Is.GreaterThan(0), $"{epilogue} warned");
            Assert.That(first, Is.All.Contain("cuBLASLt has no kernel for this GEMM").And.Contain("takes the plain GEMM and kernels instead"));
            Assert.That(first, Is.Unique, "one warning per GEMM shape");
            BackendComparison.Run(device, train);
            Assert.That(warnings.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(first.Length), "no warning again");
        }
        finally
        {
            Console.SetError(error);
            emulated.EpiloguesWithoutKernel.Clear();
            backend.ForgetMissingEpilogueKernels();
            device.Plan = StepPlan.Layers;
        }
    }
}
