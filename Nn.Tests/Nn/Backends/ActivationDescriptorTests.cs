using System.Text.RegularExpressions;
using CudaNn.Backends;
using CudaNn.Export;
using CudaNn.Kernels;
using CudaNn.Nn;
using CudaNn.Training;
using static CudaNn.Tests.Cli.CliRunner;

namespace CudaNn.Tests.Nn.Backends;

/// <summary>
/// What docs/adding-an-op.md promises of a new activation declared in Activation.cs: every place that names
/// activations takes it from there. Each activation of <see cref="Activation.Nonlinear"/> (and a parameterised one)
/// parses back from its text, has its case in kernels.cu's with_activation, builds its module, exports to ONNX and is a
/// choice of the command line. The kernels, CPU twins and PyTorch values are checked per activation elsewhere.
/// </summary>
public class ActivationDescriptorTests
{
    private static IEnumerable<Activation> Activations() => [.. Activation.Nonlinear, Activation.LeakyReLU(0.2)];

    [TestCaseSource(nameof(Activations))]
    public void Text_ParsesBackToTheSameActivation(Activation activation)
    {
        Assert.That(Activation.Parse(activation.ToString()), Is.EqualTo(activation));
        Assert.That(Activation.Parse(activation.ToString().ToUpperInvariant()), Is.EqualTo(activation), "names are case-insensitive");
        Assert.That(Activation.Parse(activation.Name), Is.EqualTo(Activation.Nonlinear.Single(a => a.Name == activation.Name)), "a bare name takes the default parameter");
    }

    [TestCaseSource(nameof(Activations))]
    public void KernelsCu_HasItsCase_AndItsModuleAppliesIt(Activation activation)
    {
        // with_activation's switch, with the functor that takes the parameter where there is one.
        var withActivation = Regex.Match(KernelSource.Text, @"void with_activation\(.*?\n}\n", RegexOptions.Singleline).Value;
        Assert.That(withActivation, Does.Match($@"case {activation.Kernel.Number}: f\(\w+{(activation.Parameter is null ? @"\(\)" : @"\{parameter\}")}\); break;"));

        using var module = activation.NewModule();
        Assert.That(module.Activation, Is.EqualTo(activation));
    }

    [Test]
    public void KernelNumbers_AreDistinct()
    {
        var numbers = Activation.Nonlinear.Append(Activation.Identity).Select(a => a.Kernel.Number).ToArray();
        Assert.That(numbers, Is.Unique);
    }

    [TestCaseSource(nameof(Activations))]
    public void OnnxExport_WritesIt(Activation activation)
    {
        using var model = Mlp.Create(4, [3], 2, activation, new Generator(1));
        Assert.That(OnnxExporter.ToBytes(model), Is.Not.Empty);
    }

    [Test]
    public void CommandLineHelp_OffersEveryActivation()
    {
        var help = Run("train", "--help");
        foreach (var activation in Activation.Nonlinear)
            Assert.That(help.Output, Does.Contain(activation.Name), $"train --help names {activation.Name}");
    }

    [Test]
    public void Equality_IsByNameAndParameter()
    {
        Assert.That(Activation.LeakyReLU(0.2), Is.EqualTo(Activation.Parse("leaky_relu:0.2")));
        Assert.That(Activation.LeakyReLU(0.2) == Activation.LeakyReLU(0.3), Is.False);
        Assert.That(Activation.LeakyReLU() == Activation.Parse("leaky_relu"), Is.True);
        Assert.That(Activation.ReLU == Activation.LeakyReLU(0), Is.False, "leaky ReLU with slope 0 computes ReLU but is its own activation");
        Assert.That(() => Activation.LeakyReLU(double.NaN), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
