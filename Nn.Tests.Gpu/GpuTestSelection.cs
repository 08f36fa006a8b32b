using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace CudaNn.Tests.Gpu;

/// <summary>
/// Which fixtures of Nn.Tests run: those marked with the "Gpu" category (the GPU twin of a device fixture, or a
/// class whose every test needs the GPU's libraries), or, with <c>emulator</c>, the "emulator" twins of those
/// device fixtures, which run the same test bodies on the host emulator.
/// </summary>
internal sealed class GpuTestSelection(bool emulator) : TestFilter
{
    /// <summary>The category that marks tests for the GPU machine.</summary>
    public const string Category = "Gpu";

    /// <summary>Selected fixtures match; their tests pass the filter as descendants, their namespaces as ancestors.</summary>
    public override bool Match(ITest test) => test.IsSuite && (emulator ? IsEmulatorTwin(test) : HasOwnCategory(test));

    private static bool HasOwnCategory(ITest test) => test.Properties[PropertyNames.Category].Contains(Category);

    // A parameterized fixture's instances share a parent; the "emulator" instance of a family with a Gpu instance.
    private static bool IsEmulatorTwin(ITest test) =>
        test.Arguments is ["emulator"] && test.Parent is { } family && family.Tests.Any(HasOwnCategory);

    public override TNode AddToXml(TNode parentNode, bool recursive) =>
        parentNode.AddElement("category", emulator ? $"emulator twins of {Category}" : Category);
}
