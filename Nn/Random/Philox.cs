namespace CudaNn;

/// <summary>
/// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011): four random
/// 32-bit words from a 128-bit counter and a 64-bit key, with no state between calls. It is the generator cuRAND and
/// PyTorch's CUDA dropout use; kernels.cu has its twin (philox4x32_10), so the CPU backend draws exactly the dropout
/// masks a GPU draws.
/// </summary>
internal static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The four words for counter (c0, c1, c2, c3) under key (k0, k1).</summary>
    public static (uint X, uint Y, uint Z, uint W) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Dropout keeps an element when its word is below this: round((1 - p) 2^32), so p = 0 keeps everything.</summary>
    public static ulong DropoutKeepBelow(double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "a drop probability is in [0, 1]");
        return (ulong)Math.Round((1 - p) * 4294967296.0);
    }

    /// <summary>
    /// Fills <paramref name="keep"/> with dropout's mask for one call: element i keeps when word i % 4 of
    /// Block(i / 4 as 64 bits, <paramref name="call"/> as 64 bits; key <paramref name="seed"/>) is below
    /// <see cref="DropoutKeepBelow"/>(<paramref name="p"/>).
    /// </summary>
    public static void DropoutKeeps(ulong seed, ulong call, double p, Span<bool> keep)
    {
        ulong keepBelow = DropoutKeepBelow(p);
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32), call0 = (uint)call, call1 = (uint)(call >> 32);
        for (long group = 0; 4 * group < keep.Length; group++)
        {
            var (x, y, z, w) = Block((uint)group, (uint)((ulong)group >> 32), call0, call1, k0, k1);
            int first = (int)(4 * group);
            ReadOnlySpan<uint> words = [x, y, z, w];
            for (int lane = 0; lane < 4 && first + lane < keep.Length; lane++)
                keep[first + lane] = words[lane] < keepBelow;
        }
    }
}
