using System.Globalization;
using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Checkpoints;
using CudaNn.Kernels.Emulation;
using CudaNn.Nn;
using CudaNn.Optim;
using CudaNn.Tests.TestSupport;
using CudaNn.Training;

namespace CudaNn.Tests.References;

/// <summary>
/// CudaNn against PyTorch itself: the files of Nn.Tests/References, written by make_references.py with Debian's
/// PyTorch 1.13 in float64, hold a 20-16-12-5 MLP per configuration (every activation with both losses, every
/// optimizer, batch 64 and an odd 37): the first forward's output and loss, every gradient of the first backward, and
/// the weights after 1 and 10 optimizer steps; one steps a learning-rate schedule (warm-up, then cosine) after every
/// optimizer step, two clip the gradients (by norm, by value) between backward and step, and one has a Dropout after
/// each activation (the masks CudaNn draws, applied with PyTorch's arithmetic). Each runs on the CPU
/// reference in float64 and float32, on the emulator,
/// and on a GPU where there is one.
/// </summary>
/// <remarks>
/// Tolerances, each relative to the largest reference value of its tensor:
/// - float64 on the CPU: 1e-12 for output, loss, gradients and one step (the same arithmetic as PyTorch's, summed in
///   another order: a few units of rounding, 2^-52 each), and an absolute 1e-10 for the weights after 10 steps.
/// - float32 (the CPU, the emulator, a GPU): 2e-5 for output, loss and gradients (inputs rounded to float32, sums of
///   up to 64 products in float32: many units of 2^-24 ~ 6e-8) and for one step's weights.
/// - float32 after 10 steps: an absolute 1% of the summed learning rates. An Adam or SGD step moves a weight by about
///   lr, and Adam turns a rounding difference in a near-zero gradient into a visible share of lr.
/// </remarks>
[TestFixture("cpu", DType.Float64)]
[TestFixture("cpu", DType.Float32)]
[TestFixture("emulator", DType.Float32)]
[TestFixture("cuda", DType.Float32, Category = "Gpu")]
public class PyTorchReferenceTests(string deviceName, DType dtype) : AnyDeviceFixture(deviceName, dtype)
{
    private static IEnumerable<string> Files() =>
        Directory.GetFiles(ReferenceFiles.Folder(), "mlp-*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    [TestCaseSource(nameof(Files))]
    public void Mlp_MatchesPyTorch(string fileName)
    {
        var file = ReferenceFiles.Load(fileName);
        var meta = file.Metadata;
        TestContext.Out.WriteLine($"{fileName}: {string.Join(", ", meta.Select(m => $"{m.Key}={m.Value}"))}");
        bool crossEntropy = meta["loss"] == "cross-entropy";
        int batch = int.Parse(meta["batch"], CultureInfo.InvariantCulture);
        bool exact = Exact;

        // "dropout" puts a Dropout after each activation, keyed by "dropout_seeds" and drawing one mask per forward.
        // "layer_norm" puts a LayerNorm between each hidden Linear and its activation.
        double dropout = meta.TryGetValue("dropout", out string? dropoutText) ? double.Parse(dropoutText, CultureInfo.InvariantCulture) : 0;
        using var model = Mlp.Create(20, [16, 12], 5, Activation.Parse(meta["activation"]), new Generator(0), dropout: dropout,
            layerNorm: meta.ContainsKey("layer_norm"));
        if (dropout > 0)
        {
            var seeds = meta["dropout_seeds"].Split(',').Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            var layers = model.NamedModules().Where(m => m.Module is Dropout).Select(m => (Dropout)m.Module).ToArray();
            Assert.That(layers, Has.Length.EqualTo(seeds.Length));
            for (int i = 0; i < seeds.Length; i++) layers[i].SetRngState(seeds[i], 0);
        }
        model.LoadStateDict(model.NamedParameters().ToDictionary(p => p.Name, p => ReferenceFiles.Read(file, p.Name)));
        model.To(DType).To(Device);
        using var optimizer = MakeOptimizer(meta, model.Parameters());
        // "schedule" names one of schedules.safetensors', stepped after every optimizer step.
        var schedule = meta.TryGetValue("schedule", out string? scheduleName) ? CudaNn.Tests.Nn.Optim.LRSchedulerTests.Create(scheduleName, optimizer) : null;
        using var x = OnDevice(ReferenceFiles.Read(file, "x"));
        using var target = crossEntropy ? Tensor.FromArray(file.Get("labels").ToInt32Array(), [batch], Device) : OnDevice(ReferenceFiles.Read(file, "targets"));
        using var ce = new CrossEntropyLoss();
        using var mse = new MSELoss();

        double forwardTolerance = exact ? 1e-12 : 2e-5;
        for (int step = 1; step <= 10; step++)
        {
            optimizer.ZeroGrad();
            var output = model.Forward(x);
            var loss = crossEntropy ? ce.Forward(output, target) : mse.Forward(output, target);
            model.Backward(crossEntropy ? ce.Backward() : mse.Backward());
            if (step == 1)
            {
                ReferenceFiles.Compare(file, "output", output, forwardTolerance);
                ReferenceFiles.Compare(file, "loss", loss, forwardTolerance);
                foreach (var (name, p) in model.NamedParameters())
                    ReferenceFiles.Compare(file, "grad." + name, p.Grad, forwardTolerance);
            }
            if (meta.TryGetValue("clip_grad_norm", out string? maxNorm))
                GradClipping.ClipGradNorm(model.Parameters(), double.Parse(maxNorm, CultureInfo.InvariantCulture)).Dispose();
            if (meta.TryGetValue("clip_grad_value", out string? bound))
                GradClipping.ClipGradValue(model.Parameters(), double.Parse(bound, CultureInfo.InvariantCulture));
            optimizer.Step();
            schedule?.Step();
            if (step == 1)
                foreach (var (name, p) in model.NamedParameters())
                    ReferenceFiles.Compare(file, "step1." + name, p.Value, forwardTolerance);
        }
        double lr = double.Parse(meta["lr"], CultureInfo.InvariantCulture);
        double tenSteps = exact ? 1e-10 : 0.01 * 10 * lr;
        foreach (var (name, p) in model.NamedParameters())
            ReferenceFiles.Compare(file, "step10." + name, p.Value, tenSteps, absolute: true);
    }

    private static Optimizer MakeOptimizer(IReadOnlyDictionary<string, string> meta, IReadOnlyList<Parameter> parameters)
    {
        double Get(string key) => meta.TryGetValue(key, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : 0;
        return meta["optimizer"] switch
        {
            "adam" => new Adam(parameters, lr: Get("lr")),
            "adamw" => new AdamW(parameters, lr: Get("lr"), weightDecay: Get("weight_decay")),
            "sgd" or "sgd-clip-value" => new SGD(parameters, lr: Get("lr")),
            "sgd-momentum" or "sgd-momentum-warmup-cosine" or "sgd-momentum-clip-norm" or "sgd-momentum-dropout" or "sgd-momentum-layernorm" => new SGD(parameters, lr: Get("lr"), momentum: Get("momentum"), dampening: Get("dampening"), weightDecay: Get("weight_decay")),
            "sgd-nesterov" => new SGD(parameters, lr: Get("lr"), momentum: Get("momentum"), nesterov: true, weightDecay: Get("weight_decay")),
            var other => throw new ArgumentException($"unknown optimizer '{other}' in a reference file"),
        };
    }
}
