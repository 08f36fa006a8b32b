using System.Numerics;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CudaNn.Backends.Cpu;

internal sealed partial class CpuBackend<T>
{
    /// <summary>
    /// A gathered batch at least this large (bytes of x) is written past the caches. It is read back a layer's GEMM
    /// later, from memory either way: written through the caches it costs a read of every line first and pushes out
    /// what the step uses next (at batch 8,192, 25 MB: the gather, forward and backward each 5-7% faster, measured
    /// alternating step by step; at batch 1,024, 3.2 MB, no difference, so smaller batches keep x in cache).
    /// </summary>
    private const long StreamingGatherBytes = 8L << 20;

    /// <summary>
    /// The reference's gather, its rows split across the cores (a batch of 8,192 MNIST images is 25 MB of floats to
    /// write). Every index is checked before any row is written, so a bad one leaves x and y as they were.
    /// </summary>
    internal override void GatherNormalize(Tensor images, Tensor labels, Tensor indices, Tensor x, Tensor y, double mean, double std)
    {
        var (count, features, batch) = BackendChecks.GatherNormalize(this, images, labels, indices, x, y);
        foreach (int row in indices.Span<int>())
            if ((uint)row >= (uint)count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {row} outside a data set of {count}");
        var job = GatherJob.ForCurrentThread();
        bool streaming = x.Numel * x.DType.Size() >= StreamingGatherBytes;
        job.Set(images, labels, indices, x, y, features, Of(1.0 / (255.0 * std)), Of(-mean / std), streaming);
        ElementwiseParts.RunRows(job, batch, features);
    }

    private protected override void NormalizeRow(ReadOnlySpan<byte> pixels, Span<T> x, T scale, T shift) =>
        Normalize(pixels, x, scale, shift, streaming: false);

    /// <summary>
    /// x[d] = pixels[d] * scale + shift, each rounded as the reference's loop rounds it (a product, then a sum: no fused
    /// multiply-add), in one pass of 8 pixels at a time where AVX2 is there; <paramref name="streaming"/> writes the
    /// aligned part with non-temporal stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Normalize(ReadOnlySpan<byte> pixels, Span<T> x, T scale, T shift, bool streaming)
    {
        if (typeof(T) != typeof(float) || !Avx2.IsSupported)
        {
            TensorPrimitives.ConvertTruncating(pixels, x);
            TensorPrimitives.Multiply(x, scale, x);
            TensorPrimitives.Add(x, shift, x);
            return;
        }
        unsafe
        {
            fixed (byte* source = pixels)
            fixed (T* destination = x)
            {
                float* d = (float*)destination;
                float s = float.CreateTruncating(scale), h = float.CreateTruncating(shift);
                var vscale = Vector256.Create(s);
                var vshift = Vector256.Create(h);
                int i = 0;
                if (streaming)
                {
                    // Non-temporal stores need 32-byte aligned addresses: the first few elements go the plain way.
                    for (; i < x.Length && ((nuint)(d + i) & 31) != 0; i++)
                        d[i] = source[i] * s + h;
                    for (; i + 8 <= x.Length; i += 8)
                    {
                        var values = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(source + i));
                        Avx.StoreAlignedNonTemporal(d + i, Avx.Add(Avx.Multiply(values, vscale), vshift));
                    }
                }
                for (; i + 8 <= x.Length; i += 8)
                {
                    var values = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(source + i));
                    Avx.Store(d + i, Avx.Add(Avx.Multiply(values, vscale), vshift));
                }
                for (; i < x.Length; i++)
                    d[i] = source[i] * s + h;
            }
        }
    }

    /// <summary>
    /// Asks for the next image's row while this one is normalized: the rows are drawn at random from the whole data set
    /// (47 MB for MNIST's 60,000), so each is a cache miss the hardware prefetcher cannot foresee.
    /// </summary>
    private static unsafe void Prefetch(ReadOnlySpan<byte> row)
    {
        if (!Sse.IsSupported)
            return;
        fixed (byte* start = row)
            for (int offset = 0; offset < row.Length; offset += 64)
                Sse.Prefetch0(start + offset);
    }

    /// <summary>One gather's operands, reused per calling thread, so splitting it across cores allocates nothing.</summary>
    private sealed class GatherJob : ISplitElementwise
    {
        [ThreadStatic]
        private static GatherJob? s_current;

        private Tensor? _images, _labels, _indices, _x, _y;
        private int _features, _parts;
        private T _scale, _shift;
        private bool _streaming;

        public static GatherJob ForCurrentThread() => s_current ??= new GatherJob();

        public void Set(Tensor images, Tensor labels, Tensor indices, Tensor x, Tensor y, int features, T scale, T shift, bool streaming) =>
            (_images, _labels, _indices, _x, _y, _features, _scale, _shift, _streaming) = (images, labels, indices, x, y, features, scale, shift, streaming);

        public void Prepare(int parts) => _parts = parts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunPart(int part)
        {
            var idx = _indices!.Span<int>();
            var (start, end) = ElementwiseParts.RowRange(idx.Length, _parts, part);
            var img = _images!.Span<byte>();
            var lab = _labels!.Span<byte>();
            var xs = _x!.Span<T>();
            var ys = _y!.Span<int>();
            for (int b = start; b < end; b++)
            {
                if (b + 1 < end)
                    Prefetch(img.Slice(idx[b + 1] * _features, _features));
                Normalize(img.Slice(idx[b] * _features, _features), xs.Slice(b * _features, _features), _scale, _shift, _streaming);
                ys[b] = lab[idx[b]];
            }
            // Non-temporal stores are ordered by a store fence, not by the completion count other threads read next.
            if (_streaming && Sse.IsSupported)
                Sse.StoreFence();
        }
    }
}
