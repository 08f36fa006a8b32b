namespace CudaNn.Tests.Nn;

/// <summary>Philox4x32-10 against Random123's published known answers, and the dropout mask built on it.</summary>
public class PhiloxTests
{
    [TestCase(0u, 0u, 0u, 0u, 0u, 0u, 0x6627E8D5u, 0xE169C58Du, 0xBC57AC4Cu, 0x9B00DBD8u)]
    [TestCase(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0x408F276Du, 0x41C83B0Eu, 0xA20BC7C6u, 0x6D5451FDu)]
    [TestCase(0x243F6A88u, 0x85A308D3u, 0x13198A2Eu, 0x03707344u, 0xA4093822u, 0x299F31D0u, 0xD16CFE09u, 0x94FDCCEBu, 0x5001E420u, 0x24126EA1u)]
    public void Block_GivesRandom123sKnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x, uint y, uint z, uint w) =>
        Assert.That(Philox.Block(c0, c1, c2, c3, k0, k1), Is.EqualTo((x, y, z, w)));

    [Test]
    public void DropoutKeepBelow_IsTheKeepProbabilityIn32Bits()
    {
        Assert.That(Philox.DropoutKeepBelow(0), Is.EqualTo(1UL << 32), "p = 0 keeps every word");
        Assert.That(Philox.DropoutKeepBelow(1), Is.Zero, "p = 1 keeps none");
        Assert.That(Philox.DropoutKeepBelow(0.25), Is.EqualTo(3UL << 30));
        Assert.Throws<ArgumentOutOfRangeException>(() => Philox.DropoutKeepBelow(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Philox.DropoutKeepBelow(double.NaN));
    }

    /// <summary>
    /// Over 2^20 elements the kept share is binomial with standard deviation √(p(1-p)/n) = 4.5e-4 at p = 0.3; the bound
    /// is 6 of those. Masks of consecutive calls and of two seeds agree only as often as independent ones would.
    /// </summary>
    [Test]
    public void DropoutKeeps_KeepsOneMinusP_AndDiffersByCallAndSeed()
    {
        const int n = 1 << 20;
        const double p = 0.3;
        var first = new bool[n];
        var next = new bool[n];
        var otherSeed = new bool[n];
        Philox.DropoutKeeps(42, 0, p, first);
        Philox.DropoutKeeps(42, 1, p, next);
        Philox.DropoutKeeps(43, 0, p, otherSeed);
        double sigma = Math.Sqrt(p * (1 - p) / n);
        Assert.That(first.Count(k => k) / (double)n, Is.EqualTo(1 - p).Within(6 * sigma));
        // Two independent masks agree with probability p² + (1 - p)² = 0.58.
        double agree = 0.58, agreeSigma = Math.Sqrt(agree * (1 - agree) / n);
        Assert.That(first.Zip(next, (a, b) => a == b).Count(s => s) / (double)n, Is.EqualTo(agree).Within(6 * agreeSigma));
        Assert.That(first.Zip(otherSeed, (a, b) => a == b).Count(s => s) / (double)n, Is.EqualTo(agree).Within(6 * agreeSigma));
    }
}
