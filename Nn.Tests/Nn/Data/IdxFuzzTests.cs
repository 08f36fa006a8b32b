using System.Buffers.Binary;
using System.Diagnostics;
using CudaNn.Data;
using CudaNn.Tests.TestSupport;

namespace CudaNn.Tests.Nn.Data;

/// <summary>
/// Hostile-input safety of the IDX reader: mutated files (bit flips, truncations, appended bytes, hostile
/// dimensions and counts, bad type and rank bytes, damaged gzip) either load consistently or throw
/// IdxFormatException; no other exception, no allocation beyond a small bound, no hang.
/// </summary>
public class IdxFuzzTests
{
    private const int Seed = 1_0000_6;
    private const int Mutations = 12_000;
    private const long AllocationBoundBytes = 4 << 20;

    private static readonly string[] Kinds = ["bit-flip", "truncate", "append", "dimension", "rank-type", "gzip-damage", "gzip-of-mutant"];

    private static readonly uint[] HostileDimensions =
        [0, 1, 2, 3, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE, 1 << 16, 1 << 24, 100_000_000];

    [Test]
    public void MutatedFiles_LoadOrThrowIdxFormatException()
    {
        TestContext.Out.WriteLine($"seed {Seed}, {Mutations} mutations");
        var random = new Random(Seed);
        byte[][] valid =
        [
            IdxWriter.Encode([5, 4, 3], Enumerable.Range(0, 60).Select(i => (byte)(i * 7)).ToArray()),
            IdxWriter.Encode([7], [0, 1, 2, 3, 4, 5, 9]),
            IdxWriter.Encode([2, 2, 2, 2], new byte[16]),
        ];
        var loaded = new Dictionary<string, int>();
        var rejected = new Dictionary<string, int>();
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();

        for (int n = 0; n < Mutations; n++)
        {
            string kind = Kinds[n % Kinds.Length];
            byte[] file = Mutate(random, valid[random.Next(valid.Length)], kind);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var tally = rejected;
            try
            {
                var array = IdxReader.Read(new MemoryStream(file, writable: false), $"fuzz-{n}");
                long product = array.Dimensions.Aggregate(1L, (p, d) => p * d);
                if (array.Data.Length != product || array.Dimensions.Any(d => d <= 0))
                    failures.Add($"#{n} {kind}: loaded {array.ShapeText} with {array.Data.Length} bytes");
                tally = loaded;
            }
            catch (IdxFormatException e) when (e.Message.Contains($"fuzz-{n}", StringComparison.Ordinal))
            {
            }
            catch (Exception e)
            {
                failures.Add($"#{n} {kind}: {e.GetType().Name}: {e.Message}; bytes {Convert.ToHexString(file[..Math.Min(file.Length, 64)])}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > AllocationBoundBytes + 64L * file.Length)
                failures.Add($"#{n} {kind}: allocated {allocated} bytes for a {file.Length}-byte file");
            tally[kind] = tally.GetValueOrDefault(kind) + 1;
        }

        foreach (string kind in Kinds)
            TestContext.Out.WriteLine($"{kind,-15} loaded {loaded.GetValueOrDefault(kind),5}  rejected {rejected.GetValueOrDefault(kind),5}");
        TestContext.Out.WriteLine($"elapsed {clock.Elapsed.TotalSeconds:F2} s");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(10)));
        Assert.That(loaded.Values.Sum(), Is.GreaterThan(Mutations / 50), "some mutants still load (e.g. data-byte flips)");
        Assert.That(rejected.Values.Sum(), Is.GreaterThan(Mutations / 2), "most mutants are rejected");
    }

    private static byte[] Mutate(Random random, byte[] valid, string kind)
    {
        switch (kind)
        {
            case "bit-flip":
            {
                byte[] bytes = (byte[])valid.Clone();
                int header = 4 + 4 * valid[3];
                for (int i = 1 + random.Next(3); i > 0; i--)
                    bytes[random.Next(random.Next(3) == 0 ? bytes.Length : header)] ^= (byte)(1 << random.Next(8));
                return bytes;
            }
            case "truncate":
                return valid[..random.Next(valid.Length)];
            case "append":
                return [.. valid, .. Enumerable.Range(0, 1 + random.Next(16)).Select(_ => (byte)random.Next(256))];
            case "dimension":
            {
                byte[] bytes = (byte[])valid.Clone();
                int dim = random.Next(valid[3]);
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * dim), HostileDimensions[random.Next(HostileDimensions.Length)]);
                return bytes;
            }
            case "rank-type":
            {
                byte[] bytes = (byte[])valid.Clone();
                byte[] hostile = [0, 1, 2, 3, 4, 8, 9, 0x0B, 0x0D, 0x0E, 0x7F, 0xFF];
                bytes[2 + random.Next(2)] = hostile[random.Next(hostile.Length)];
                return bytes;
            }
            case "gzip-damage":
            {
                byte[] gz = TempDirectory.Gzip(valid);
                if (random.Next(2) == 0) return gz[..random.Next(gz.Length)];
                gz[random.Next(gz.Length)] ^= (byte)(1 << random.Next(8));
                return gz;
            }
            default:
                return TempDirectory.Gzip(Mutate(random, valid, Kinds[random.Next(5)]));
        }
    }
}
