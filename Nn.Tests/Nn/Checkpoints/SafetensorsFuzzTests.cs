using System.Diagnostics;
using CudaNn.Checkpoints;

namespace CudaNn.Tests.Nn.Checkpoints;

/// <summary>
/// Hostile-input safety: mutated files either load (and then hold a consistent, re-writable
/// set of tensors) or throw CheckpointFormatException; no other exception, no allocation
/// beyond a small multiple of the input's size, and no hang.
/// </summary>
public class SafetensorsFuzzTests
{
    private const int Seed = 6_2024;
    private const int Mutations = 30_000;

    // Parsing allocates strings, lists and exception objects proportional to the header, never to
    // a declared size; a reader that trusted a forged length would exceed this by orders of magnitude.
    private const long AllocationSlackBytes = 1 << 20;

    private static byte[] ValidFile() => SafetensorsWriter.ToBytes(
        [
            SafetensorsEntry.FromFloats("fc1.weight", [3, 4], Enumerable.Range(0, 12).Select(i => i * 0.25f).ToArray()),
            SafetensorsEntry.FromFloats("fc1.bias", [3], [1f, -1f, 0.5f]),
            SafetensorsEntry.FromDoubles("adam.exp_avg", [2], [1e-3, -2e-3]),
            SafetensorsEntry.FromInt64s("adam.step", [], [42]),
            SafetensorsEntry.FromBytes("rng", [5], [1, 2, 3, 4, 5]),
            new SafetensorsEntry("half", SafetensorsDtype.F16, [2, 2], new byte[] { 0, 0x3C, 0, 0xC0, 1, 0, 0, 0x7C }),
            new SafetensorsEntry("brain", SafetensorsDtype.BF16, [3], new byte[] { 0x80, 0x3F, 0x49, 0x40, 0xC0, 0x7F }),
            SafetensorsEntry.FromFloats("empty", [0, 7], []),
        ],
        new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "2" });

    [Test]
    public void MutatedFiles_LoadOrThrowCheckpointFormatException()
    {
        TestContext.Out.WriteLine($"seed {Seed}, {Mutations} mutations");
        var random = new Random(Seed);
        byte[] valid = ValidFile();
        var mutator = new SafetensorsMutator(random, valid);
        var loaded = new Dictionary<string, int>();
        var rejected = new Dictionary<string, int>();
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();

        for (int n = 0; n < Mutations; n++)
        {
            string kind = SafetensorsMutator.Kinds[n % SafetensorsMutator.Kinds.Length];
            byte[] file = mutator.Mutate(kind);
            string? failure = Check(file, useStream: n % 5 == 0, out bool didLoad);
            if (failure is not null)
                failures.Add($"#{n} {kind}: {failure}; bytes {Convert.ToHexString(file[..Math.Min(file.Length, 160)])}");
            Dictionary<string, int> tally = didLoad ? loaded : rejected;
            tally[kind] = tally.GetValueOrDefault(kind) + 1;
        }

        foreach (string kind in SafetensorsMutator.Kinds)
            TestContext.Out.WriteLine($"{kind,-14} loaded {loaded.GetValueOrDefault(kind),5}  rejected {rejected.GetValueOrDefault(kind),5}");
        TestContext.Out.WriteLine($"elapsed {clock.Elapsed.TotalSeconds:F2} s");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(10)));
        // The generator must actually reach both outcomes, or the test proves nothing.
        Assert.That(rejected.Values.Sum(), Is.GreaterThan(Mutations / 2));
        Assert.That(loaded.Values.Sum(), Is.GreaterThan(0));
    }

    /// <summary>Null when the outcome is acceptable, otherwise what went wrong.</summary>
    private static string? Check(byte[] file, bool useStream, out bool didLoad)
    {
        didLoad = false;
        long before = GC.GetAllocatedBytesForCurrentThread();
        SafetensorsFile result;
        try
        {
            if (useStream)
            {
                using var stream = new MemoryStream(file, writable: false);
                result = SafetensorsReader.Read(stream, "fuzz");
            }
            else
            {
                result = SafetensorsReader.Read(file, "fuzz");
            }
        }
        catch (CheckpointFormatException ex)
        {
            return ex.Message.StartsWith("fuzz: ", StringComparison.Ordinal) && ex.Problem.Length > 0
                ? AllocationProblem(before, file)
                : $"message does not name the source: {ex.Message}";
        }
        catch (Exception ex)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
        didLoad = true;
        return AllocationProblem(before, file) ?? ConsistencyProblem(result, file);
    }

    private static string? AllocationProblem(long before, byte[] file)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return allocated > 8L * file.Length + AllocationSlackBytes
            ? $"allocated {allocated} bytes reading a {file.Length}-byte file"
            : null;
    }

    /// <summary>A loaded file's tensors must tile its buffer and survive a write-read round trip unchanged.</summary>
    private static string? ConsistencyProblem(SafetensorsFile result, byte[] file)
    {
        long headerLength = (long)BitConverter.ToUInt64(file, 0);
        long dataBytes = result.Tensors.Sum(t => (long)t.Data.Length);
        if (dataBytes != file.Length - 8 - headerLength)
            return $"tensors hold {dataBytes} bytes but the buffer has {file.Length - 8 - headerLength}";
        SafetensorsFile again = SafetensorsReader.Read(SafetensorsWriter.ToBytes(result.Tensors, result.Metadata), "rewritten");
        bool same = again.Tensors.Count == result.Tensors.Count
            && again.Tensors.Zip(result.Tensors).All(p => p.First.Name == p.Second.Name && p.First.Dtype == p.Second.Dtype
                && p.First.Shape.SequenceEqual(p.Second.Shape) && p.First.Data.Span.SequenceEqual(p.Second.Data.Span))
            && again.Metadata.Count == result.Metadata.Count
            && again.Metadata.All(kv => result.Metadata.TryGetValue(kv.Key, out string? v) && v == kv.Value);
        return same ? null : "rewriting the loaded tensors did not reproduce them";
    }
}
