// CudaNn's hand-written CUDA kernels: float32 data, extern "C" entry points, launched only through the typed
// launchers in Cuda.Kernels (which know every name and argument order here).
//
// Built by NVRTC with --fmad=false, so each a*b+c rounds twice exactly as the CPU reference backend's loops do,
// and by g++ against the host emulator's header for tests. Counts of elements are long long; row and column
// counts are int. Element kernels take a float4 path when all their pointers sit at the same offset within
// 16 bytes (a scalar head reaches the boundary, a scalar tail finishes), otherwise a scalar grid-stride loop.
// Reductions are fixed-order trees (no float atomics), so every result is bit-identical from run to run.
#ifdef CUDANN_EMULATOR
#include "cuda_emulator.h"
#endif

// NVRTC has no <math.h>: define what it lacks from bit patterns.
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif

#define CUDANN_INT_MAX 0x7fffffff

// ================================================================ Shared helpers

__device__ __forceinline__ long long first_thread() { return (long long)blockIdx.x * blockDim.x + threadIdx.x; }

__device__ __forceinline__ long long thread_count() { return (long long)gridDim.x * blockDim.x; }

__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15) == 0; }

// Elements [0, head) and [head + 4 * vectors, n) take the scalar path, the rest float4. The body is aligned for
// every pointer only when all share one offset within 16 bytes (null pointers, optional buffers, are ignored).
struct VectorSplit
{
    long long head;
    long long vectors;
};

__device__ __forceinline__ VectorSplit split_float4(long long n, const void* a, const void* b = 0, const void* c = 0, const void* d = 0,
                                                   const void* e = 0)
{
    unsigned long long offset = (unsigned long long)a & 15;
    bool same = (offset & 3) == 0;
    if (b) same = same && ((unsigned long long)b & 15) == offset;
    if (c) same = same && ((unsigned long long)c & 15) == offset;
    if (d) same = same && ((unsigned long long)d & 15) == offset;
    if (e) same = same && ((unsigned long long)e & 15) == offset;
    VectorSplit split;
    split.head = n;
    if (same)
    {
        long long toBoundary = (long long)((16 - offset) & 15) / 4;
        split.head = toBoundary < n ? toBoundary : n;
    }
    split.vectors = (n - split.head) / 4;
    return split;
}

// Calls f(i) for the scalar elements of a split (head and tail), grid-stride.
template <class F>
__device__ __forceinline__ void for_each_scalar(VectorSplit split, long long n, F f)
{
    const long long first = first_thread(), stride = thread_count();
    for (long long i = first; i < split.head; i += stride)
        f(i);
    for (long long i = split.head + 4 * split.vectors + first; i < n; i += stride)
        f(i);
}

// y = op(x) elementwise; x == y is allowed (each element is read once, by the thread that writes it).
template <class Op>
__device__ __forceinline__ void map_unary(const float* x, float* y, long long n, Op op)
{
    const VectorSplit split = split_float4(n, x, y);
    const long long stride = thread_count();
    for (long long v = first_thread(); v < split.vectors; v += stride)
    {
        const long long i = split.head + 4 * v;
        const float4 a = *reinterpret_cast<const float4*>(x + i);
        *reinterpret_cast<float4*>(y + i) = make_float4(op(a.x), op(a.y), op(a.z), op(a.w));
    }
    for_each_scalar(split, n, [&](long long i) { y[i] = op(x[i]); });
}

// z = op(x, y) elementwise; z may be x or y.
template <class Op>
__device__ __forceinline__ void map_binary(const float* x, const float* y, float* z, long long n, Op op)
{
    const VectorSplit split = split_float4(n, x, y, z);
    const long long stride = thread_count();
    for (long long v = first_thread(); v < split.vectors; v += stride)
    {
        const long long i = split.head + 4 * v;
        const float4 a = *reinterpret_cast<const float4*>(x + i);
        const float4 b = *reinterpret_cast<const float4*>(y + i);
        *reinterpret_cast<float4*>(z + i) = make_float4(op(a.x, b.x), op(a.y, b.y), op(a.z, b.z), op(a.w, b.w));
    }
    for_each_scalar(split, n, [&](long long i) { z[i] = op(x[i], y[i]); });
}

// Sums values[0..count) (count a power of two) into values[0], and hits likewise when given, in a fixed pairwise
// order that does not depend on the block size; ends with a barrier so the caller may read values[0].
__device__ __forceinline__ void block_tree_sum(double* values, int* hits, int count)
{
    __syncthreads();
    for (int half = count / 2; half > 0; half /= 2)
    {
        for (int t = threadIdx.x; t < half; t += blockDim.x)
        {
            values[t] += values[t + half];
            if (hits) hits[t] += hits[t + half];
        }
        __syncthreads();
    }
}

// True in thread 0 of the block that finishes the grid, once every block's threads are past this call, and so past
// every read they made before it; that block may then update what all of them read. blocksDone is a scratch counter
// that is 0 between launches: each block adds 1, and the last puts it back to 0. Every thread must call this.
__device__ __forceinline__ bool last_block_done(int* blocksDone)
{
    __syncthreads();
    if (threadIdx.x != 0)
        return false;
    __threadfence();
    if (atomicAdd(blocksDone, 1) != (int)gridDim.x - 1)
        return false;
    blocksDone[0] = 0;
    return true;
}

// ================================================================ Activations

// Each activation is a functor: forward(x), and slope(saved) = act'(x) computed from what its backward keeps, the
// output y for most, the input x for the rest (Activation.cs says which, as BackwardReadsInput). Its number is
// Activation.cs's kernel number; with_activation maps the number to the functor, handing the parameter to those that
// take one. A new activation is one functor here and one case in with_activation.
struct Identity
{
    __device__ float forward(float x) const { return x; }
    __device__ float slope(float) const { return 1.0f; }
};

struct Relu
{
    __device__ float forward(float x) const { return x > 0.0f ? x : 0.0f; }
    __device__ float slope(float y) const { return y > 0.0f ? 1.0f : 0.0f; }
};

struct Sigmoid
{
    __device__ float forward(float x) const { return 1.0f / (1.0f + expf(-x)); }
    __device__ float slope(float y) const { return y * (1.0f - y); }
};

struct Tanh
{
    __device__ float forward(float x) const { return tanhf(x); }
    __device__ float slope(float y) const { return 1.0f - y * y; }
};

// y = x Phi(x), Phi the standard normal CDF (torch.nn.GELU, approximate='none'), written as PyTorch writes it; slope at x.
struct Gelu
{
    __device__ float forward(float x) const { return x * 0.5f * (1.0f + erff(x * 0.70710678118654752f)); }
    __device__ float slope(float x) const
    {
        const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
        const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
        return cdf + x * pdf;
    }
};

// y = x sigmoid(x) (torch.nn.SiLU), written as PyTorch writes it; slope at x.
struct Silu
{
    __device__ float forward(float x) const { return x / (1.0f + expf(-x)); }
    __device__ float slope(float x) const
    {
        const float s = 1.0f / (1.0f + expf(-x));
        return s * (1.0f + x * (1.0f - s));
    }
};

// y = x for x > 0, else negative_slope x (torch.nn.LeakyReLU); slope at x, as PyTorch's backward takes it.
struct LeakyRelu
{
    float negative_slope;
    __device__ float forward(float x) const { return x > 0.0f ? x : x * negative_slope; }
    __device__ float slope(float x) const { return x > 0.0f ? 1.0f : negative_slope; }
};

// Calls f with the functor of activation number `activation` (an unknown number does nothing: the launcher refuses it).
template <class F>
__device__ __forceinline__ void with_activation(int activation, float parameter, F f)
{
    switch (activation)
    {
        case 0: f(Identity()); break;
        case 1: f(Relu()); break;
        case 2: f(Sigmoid()); break;
        case 3: f(Tanh()); break;
        case 4: f(Gelu()); break;
        case 5: f(Silu()); break;
        case 6: f(LeakyRelu{parameter}); break;
        default: break;
    }
}

// act(x) and act'(y) for the activations whose slope comes from the output, numbers 0..3 (identity, ReLU, sigmoid,
// tanh): what bias_grad and the fused MLP kernels, which keep only y, take.
__device__ __forceinline__ float forward_keeping_output(int activation, float x)
{
    switch (activation)
    {
        case 1: return Relu().forward(x);
        case 2: return Sigmoid().forward(x);
        case 3: return Tanh().forward(x);
        default: return x;
    }
}

__device__ __forceinline__ float slope_from_output(int activation, float y)
{
    switch (activation)
    {
        case 1: return Relu().slope(y);
        case 2: return Sigmoid().slope(y);
        case 3: return Tanh().slope(y);
        default: return 1.0f;
    }
}

// The bodies with_activation calls (functors, since NVRTC takes no generic lambda in device code).
struct ActivationForwardBody
{
    const float* x;
    float* y;
    long long n;
    template <class Act>
    __device__ void operator()(Act act) const { map_unary(x, y, n, [act](float v) { return act.forward(v); }); }
};

struct ActivationBackwardBody
{
    const float* saved;
    const float* dy;
    float* dx;
    long long n;
    template <class Act>
    __device__ void operator()(Act act) const { map_binary(saved, dy, dx, n, [act](float s, float grad) { return grad * act.slope(s); }); }
};

// One kernel serves every activation, so it would hold the registers of the costliest (GELU's erff); the launch bounds
// (six blocks of 256 per multiprocessor) keep it to 40 or fewer, what each activation used in a kernel of its own.
// y[n] = act(x), x == y allowed; reads 4n bytes, writes 4n.
extern "C" __global__ void __launch_bounds__(256, 6) activation_forward(const float* __restrict__ x, float* __restrict__ y, long long n, int activation, float parameter)
{
    with_activation(activation, parameter, ActivationForwardBody{x, y, n});
}

// dx[n] = dy * act'(x), from the forward's output y or input x (whichever the activation keeps); reads 8n bytes, writes 4n.
extern "C" __global__ void __launch_bounds__(256, 6) activation_backward(const float* __restrict__ saved, const float* __restrict__ dy, float* __restrict__ dx, long long n,
                                               int activation, float parameter)
{
    with_activation(activation, parameter, ActivationBackwardBody{saved, dy, dx, n});
}

// ================================================================ Bias epilogue and bias gradient

// y[rows, cols] = act(y + bias[c]) in place, walking columns incrementally (no division per element).
template <class Act>
__device__ __forceinline__ void bias_activation(Act act, float* y, const float* bias, int rows, int cols)
{
    const long long n = (long long)rows * cols;
    if (bias == 0)
    {
        map_unary(y, y, n, [act](float v) { return act.forward(v); });
        return;
    }
    if (n == 0)
        return;
    const long long first = first_thread(), stride = thread_count();
    if (cols % 4 == 0 && aligned16(y) && aligned16(bias))
    {
        // A float4 never straddles two rows, and its four biases are one aligned float4.
        const int rowVectors = cols / 4;
        float4* y4 = reinterpret_cast<float4*>(y);
        const float4* b4 = reinterpret_cast<const float4*>(bias);
        int c = (int)(first % rowVectors);
        const int step = (int)(stride % rowVectors);
        for (long long v = first; v < n / 4; v += stride)
        {
            const float4 a = y4[v];
            const float4 b = b4[c];
            y4[v] = make_float4(act.forward(a.x + b.x), act.forward(a.y + b.y), act.forward(a.z + b.z), act.forward(a.w + b.w));
            c += step;
            if (c >= rowVectors) c -= rowVectors;
        }
        return;
    }
    int c = (int)(first % cols);
    const int step = (int)(stride % cols);
    for (long long i = first; i < n; i += stride)
    {
        y[i] = act.forward(y[i] + bias[c]);
        c += step;
        if (c >= cols) c -= cols;
    }
}

struct BiasActivationBody
{
    float* y;
    const float* bias;
    int rows;
    int cols;
    template <class Act>
    __device__ void operator()(Act act) const { bias_activation(act, y, bias, rows, cols); }
};

// y[rows, cols] = act(y + bias[cols]) in place, bias nullable, act any activation number; reads 4 rows cols B, writes 4 rows cols.
extern "C" __global__ void bias_activation_forward(float* __restrict__ y, const float* __restrict__ bias, int rows, int cols, int activation,
                                                   float parameter)
{
    with_activation(activation, parameter, BiasActivationBody{y, bias, rows, cols});
}

#define BIAS_GRAD_BLOCK 256
#define BIAS_GRAD_TILE 32

// dbias[cols] += sum_n dz (= with accumulate 0; one chunk) or partial[chunks, cols] = per-chunk sums, dz = dy, or with y (act 0..3) dz = dy * act'(y) also written over dy; reads 4 rows cols B (8 with y), writes 4 chunks cols (and 4 rows cols with y).
extern "C" __global__ void bias_grad(float* __restrict__ dy, float* __restrict__ dbias, float* __restrict__ partial,
                                     int rows, int cols, int rowsPerChunk, const float* __restrict__ y, int activation, int accumulate)
{
    // Block (x: 32-column tile, y: chunk of rowsPerChunk rows): each warp strides the chunk's rows over 32
    // adjacent columns (128-byte coalesced rows), then the warps' sums are added in warp order. With y, the
    // activation's backward is applied on the way (activation_backward's product, bit for bit), saving its launch.
    __shared__ float warpSums[BIAS_GRAD_BLOCK / 32][BIAS_GRAD_TILE];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = BIAS_GRAD_BLOCK / 32;
    const int c = blockIdx.x * BIAS_GRAD_TILE + lane;
    const int chunk = blockIdx.y;
    const int begin = chunk * rowsPerChunk;
    const int end = rows - begin < rowsPerChunk ? rows : begin + rowsPerChunk;
    float sum = 0.0f;
    if (c < cols)
    {
        for (int r = begin + warp; r < end; r += warps)
        {
            const long long i = (long long)r * cols + c;
            float g = dy[i];
            if (y != nullptr)
            {
                g = g * slope_from_output(activation, y[i]);
                dy[i] = g;
            }
            sum += g;
        }
    }
    warpSums[warp][lane] = sum;
    __syncthreads();
    if (warp == 0 && c < cols)
    {
        float total = warpSums[0][lane];
        for (int w = 1; w < warps; w++)
            total += warpSums[w][lane];
        if (gridDim.y == 1)
            dbias[c] = accumulate ? dbias[c] + total : total;
        else
            partial[(long long)chunk * cols + c] = total;
    }
}

// dbias[cols] += sum over k of partial[k, cols] (= with accumulate 0), k ascending; reads 4 chunks cols bytes, writes 4 cols.
extern "C" __global__ void bias_grad_finish(const float* __restrict__ partial, float* __restrict__ dbias, int chunks, int cols, int accumulate)
{
    for (long long c = first_thread(); c < cols; c += thread_count())
    {
        float total = partial[c];
        for (int k = 1; k < chunks; k++)
            total += partial[(long long)k * cols + c];
        dbias[c] = accumulate ? dbias[c] + total : total;
    }
}

// ================================================================ ReLU masks, where cuBLASLt has no epilogue kernel

// The masks cuBLASLt's ReLU-aux epilogue keeps, for when it has no kernel for a GEMM and the plain GEMM and kernels
// stand in: bit (f, r) of a row-major y[rows, features] at f + r * maskLd (maskLd a multiple of 128), least
// significant bit first, set where y > 0, so where the ReLU let its input through. One thread per 32-bit word.
// Reads 4 rows features bytes, writes rows maskLd / 8.
extern "C" __global__ void relu_mask_write(const float* __restrict__ y, unsigned int* __restrict__ mask, int rows, int features,
                                           int maskLd)
{
    const long long words = (long long)rows * (maskLd / 32);
    for (long long w = first_thread(); w < words; w += thread_count())
    {
        const int r = (int)(w / (maskLd / 32)), f0 = (int)(w % (maskLd / 32)) * 32;
        unsigned int bits = 0;
        for (int b = 0; b < 32 && f0 + b < features; b++)
            if (y[(long long)r * features + f0 + b] > 0.0f)
                bits |= 1u << b;
        mask[w] = bits;
    }
}

// dz[rows, features] = 0 where the mask's bit is clear (ReLU's backward from the mask relu_mask_write or the epilogue
// wrote). Reads 4n bytes and the mask, writes what it zeroes.
extern "C" __global__ void relu_mask_apply(float* __restrict__ dz, const unsigned int* __restrict__ mask, int rows, int features,
                                           int maskLd)
{
    const long long n = (long long)rows * features;
    for (long long i = first_thread(); i < n; i += thread_count())
    {
        const long long r = i / features, bit = i - r * features + r * maskLd;
        if (((mask[bit >> 5] >> (bit & 31)) & 1u) == 0)
            dz[i] = 0.0f;
    }
}

// ================================================================ Layer normalisation

// The sum of v over a warp's 32 lanes, folded by butterfly, so every lane ends with the same bits.
__device__ __forceinline__ float warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// nn.LayerNorm over the last dimension, one warp per row of x[rows, cols]: each lane sums the row's elements
// lane, lane + 32, ... in order and the warp folds the 32 sums by butterfly, so the result depends on the row alone.
// The mean is summed as deviations from the row's first element (mean = x0 + sum(x - x0) / cols), so rows far from
// zero keep their digits in float; the (biased, as PyTorch) variance is a second pass, re-reading the row from L1.
// y = (x - mean) * rstd * weight + bias, weight and bias nullable; mean and rstd [rows] are kept for the backward.
// Reads 8 rows cols bytes (the second pass from cache), writes 4 rows cols + 8 rows.
extern "C" __global__ void layer_norm_forward(const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias,
                                              float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd,
                                              int rows, int cols, float eps)
{
    const int lane = threadIdx.x & 31;
    const int warps = blockDim.x / 32;
    for (int row = blockIdx.x * warps + threadIdx.x / 32; row < rows; row += gridDim.x * warps)
    {
        const float* xr = x + (long long)row * cols;
        const float shift = xr[0];
        float sum = 0.0f;
        for (int c = lane; c < cols; c += 32)
            sum += xr[c] - shift;
        const float mu = shift + warp_sum(sum) / (float)cols;
        float squares = 0.0f;
        for (int c = lane; c < cols; c += 32)
        {
            const float d = xr[c] - mu;
            squares += d * d;
        }
        const float r = 1.0f / sqrtf(warp_sum(squares) / (float)cols + eps);
        float* yr = y + (long long)row * cols;
        for (int c = lane; c < cols; c += 32)
        {
            float v = (xr[c] - mu) * r;
            if (weight)
                v *= weight[c];
            if (bias)
                v += bias[c];
            yr[c] = v;
        }
        if (lane == 0)
        {
            mean[row] = mu;
            rstd[row] = r;
        }
    }
}

// LayerNorm's backward, one warp per row as the forward: g = dy * weight (dy without weight), xhat = (x - mean) * rstd,
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) (nullable), dyXhat = dy * xhat (nullable; bias_grad's column sums
// of it are the weight's gradient); reads 12 rows cols bytes (twice for dx, from cache), writes 4 rows cols per output.
extern "C" __global__ void layer_norm_backward(const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ mean,
                                               const float* __restrict__ rstd, const float* __restrict__ dy, float* __restrict__ dx,
                                               float* __restrict__ dyXhat, int rows, int cols)
{
    const int lane = threadIdx.x & 31;
    const int warps = blockDim.x / 32;
    for (int row = blockIdx.x * warps + threadIdx.x / 32; row < rows; row += gridDim.x * warps)
    {
        const long long start = (long long)row * cols;
        const float mu = mean[row], r = rstd[row];
        float sumG = 0.0f, sumGXhat = 0.0f;
        for (int c = lane; c < cols; c += 32)
        {
            const float xhat = (x[start + c] - mu) * r;
            const float g = weight ? dy[start + c] * weight[c] : dy[start + c];
            sumG += g;
            sumGXhat += g * xhat;
            if (dyXhat)
                dyXhat[start + c] = dy[start + c] * xhat;
        }
        if (dx == 0)
            continue;
        const float meanG = warp_sum(sumG) / (float)cols, meanGXhat = warp_sum(sumGXhat) / (float)cols;
        for (int c = lane; c < cols; c += 32)
        {
            const float xhat = (x[start + c] - mu) * r;
            const float g = weight ? dy[start + c] * weight[c] : dy[start + c];
            dx[start + c] = r * (g - meanG - xhat * meanGXhat);
        }
    }
}

// ================================================================ Losses

#define LOSS_BLOCK 256
#define SOFTMAX_ROWS_PER_CHUNK 256
#define MSE_CHUNK (LOSS_BLOCK * 16)

// Writes the mean loss of `rows` rows from their summed losses (double) and hits: loss[0] = sum / rows,
// correct[0] += hits and total[0] += rows * loss (an epoch's running sum of per-sample losses), each when given.
__device__ __forceinline__ void finish_loss(double sum, int hits, double rows, float* loss, int* correct, float* total)
{
    const float value = (float)(sum / rows);
    loss[0] = value;
    if (correct != 0)
        correct[0] += hits;
    if (total != 0)
        total[0] += (float)rows * value;
}

// logits[rows, cols], labels[rows] -> dlogits = (softmax - onehot) / rows, loss (one chunk) or per-256-row partials; reads 4 rows (cols + 1) B, writes 4 rows cols.
extern "C" __global__ void softmax_cross_entropy(const float* __restrict__ logits, const int* __restrict__ labels,
                                                 float* __restrict__ dlogits, double* __restrict__ partialLoss,
                                                 int* __restrict__ partialHits, int rows, int cols, int groupSize,
                                                 float* __restrict__ loss, int* __restrict__ correct, float* __restrict__ total,
                                                 int* __restrict__ labelError)
{
    // A group of groupSize lanes (a power of two up to 32) per row. Per row: first maximum m at index a,
    // s = sum exp(z - m), loss = log(s) + m - z[label], hit = (a == label); dlogits is skipped when null. Rows
    // come in chunks of 256 whose losses (double) and hits are tree-summed. With one chunk (rows <= 256, a training
    // batch) this kernel finishes the loss itself (finish_loss); with more it leaves partialLoss[chunk] and
    // partialHits[chunk] to loss_finish. A label outside [0, cols) gives a NaN loss, and the first such (row, label)
    // is recorded in labelError[0..3] = {1, row, label, cols} (nullable), which the host reads with its next result.
    __shared__ double chunkLoss[SOFTMAX_ROWS_PER_CHUNK];
    __shared__ int chunkHits[SOFTMAX_ROWS_PER_CHUNK];
    const unsigned all = 0xffffffffu;
    const int lane = threadIdx.x & (groupSize - 1);
    const int group = threadIdx.x / groupSize;
    const int groupsPerBlock = blockDim.x / groupSize;
    // The first group of this thread's warp: a warp's groups take rows warpGroup, warpGroup + 1, ... together.
    const int warpGroup = group - group % (32 / groupSize);
    const float invRows = (float)(1.0 / (double)rows);
    const int chunks = (rows + SOFTMAX_ROWS_PER_CHUNK - 1) / SOFTMAX_ROWS_PER_CHUNK;

    for (int chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x)
    {
        const int chunkRows = rows - chunk * SOFTMAX_ROWS_PER_CHUNK < SOFTMAX_ROWS_PER_CHUNK ? rows - chunk * SOFTMAX_ROWS_PER_CHUNK
                                                                                           : SOFTMAX_ROWS_PER_CHUNK;
        for (int r = chunkRows + threadIdx.x; r < SOFTMAX_ROWS_PER_CHUNK; r += blockDim.x)
        {
            chunkLoss[r] = 0.0;
            chunkHits[r] = 0;
        }
        // Only as far as the chunk has rows, and every lane of a warp runs the same number of iterations (the bound
        // is on the warp's first row), so the shuffles below always see the full warp.
        for (int r = group; r - group + warpGroup < chunkRows; r += groupsPerBlock)
        {
            const int row = chunk * SOFTMAX_ROWS_PER_CHUNK + r;
            const bool valid = r < chunkRows;
            const float* z = logits + (long long)(valid ? row : 0) * cols;

            // First maximum: strict > within a lane, ties across lanes to the lower index (the CPU's scan order).
            float best = -INFINITY;
            int bestIndex = CUDANN_INT_MAX;
            if (valid)
            {
                for (int j = lane; j < cols; j += groupSize)
                {
                    const float v = z[j];
                    if (v > best || bestIndex == CUDANN_INT_MAX)
                    {
                        best = v;
                        bestIndex = j;
                    }
                }
            }
            for (int offset = groupSize / 2; offset > 0; offset /= 2)
            {
                const float otherBest = __shfl_xor_sync(all, best, offset);
                const int otherIndex = __shfl_xor_sync(all, bestIndex, offset);
                if (otherBest > best || (otherBest == best && otherIndex < bestIndex))
                {
                    best = otherBest;
                    bestIndex = otherIndex;
                }
            }

            float sum = 0.0f;
            if (valid)
                for (int j = lane; j < cols; j += groupSize)
                    sum += expf(z[j] - best);
            for (int offset = groupSize / 2; offset > 0; offset /= 2)
                sum += __shfl_xor_sync(all, sum, offset);

            const int label = valid ? labels[row] : 0;
            const bool labelOk = (unsigned)label < (unsigned)cols;
            if (lane == 0 && valid)
            {
                const float rowLoss = labelOk ? logf(sum) + best - z[label] : NAN;
                if (!labelOk && labelError != 0 && atomicCAS(labelError, 0, 1) == 0)
                {
                    labelError[1] = row;
                    labelError[2] = label;
                    labelError[3] = cols;
                }
                chunkLoss[r] = (double)rowLoss;
                chunkHits[r] = bestIndex == label ? 1 : 0;
            }
            if (dlogits != 0 && valid)
            {
                float* dz = dlogits + (long long)row * cols;
                for (int j = lane; j < cols; j += groupSize)
                    dz[j] = (expf(z[j] - best) / sum - (j == label ? 1.0f : 0.0f)) * invRows;
            }
        }
        block_tree_sum(chunkLoss, chunkHits, SOFTMAX_ROWS_PER_CHUNK);
        if (threadIdx.x == 0)
        {
            if (chunks == 1)
            {
                finish_loss(chunkLoss[0], chunkHits[0], (double)rows, loss, correct, total);
            }
            else
            {
                partialLoss[chunk] = chunkLoss[0];
                partialHits[chunk] = chunkHits[0];
            }
        }
        __syncthreads();
    }
}

// d = pred[n] - target[n]: dpred = 2 d / n (nullable), partialLoss[chunk] = sum d^2 per 4096 elements; reads 8n B, writes 4n.
extern "C" __global__ void mse_loss(const float* __restrict__ pred, const float* __restrict__ target, float* __restrict__ dpred,
                                    double* __restrict__ partialLoss, long long n)
{
    // d^2 is squared in float and summed in double, as the CPU reference does. Thread t owns the same elements
    // whatever the alignment, so the order of the sum never changes. Launched with LOSS_BLOCK threads.
    __shared__ double sums[LOSS_BLOCK];
    const float scale = (float)(2.0 / (double)n);
    const bool vector = aligned16(pred) && aligned16(target) && (dpred == 0 || aligned16(dpred));
    const long long chunks = (n + MSE_CHUNK - 1) / MSE_CHUNK;
    for (long long chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x)
    {
        double acc = 0.0;
        for (int k = 0; k < 4; k++)
        {
            const long long i = chunk * MSE_CHUNK + k * (4 * LOSS_BLOCK) + 4 * threadIdx.x;
            if (vector && i + 3 < n)
            {
                const float4 p = *reinterpret_cast<const float4*>(pred + i);
                const float4 t = *reinterpret_cast<const float4*>(target + i);
                const float4 d = make_float4(p.x - t.x, p.y - t.y, p.z - t.z, p.w - t.w);
                acc += (double)(d.x * d.x);
                acc += (double)(d.y * d.y);
                acc += (double)(d.z * d.z);
                acc += (double)(d.w * d.w);
                if (dpred != 0)
                    *reinterpret_cast<float4*>(dpred + i) = make_float4(scale * d.x, scale * d.y, scale * d.z, scale * d.w);
            }
            else
            {
                for (int j = 0; j < 4; j++)
                {
                    if (i + j < n)
                    {
                        const float d = pred[i + j] - target[i + j];
                        acc += (double)(d * d);
                        if (dpred != 0)
                            dpred[i + j] = scale * d;
                    }
                }
            }
        }
        sums[threadIdx.x] = acc;
        block_tree_sum(sums, 0, LOSS_BLOCK);
        if (threadIdx.x == 0)
            partialLoss[chunk] = sums[0];
        __syncthreads();
    }
}

// loss[0] = sum partialLoss[chunks] / count, correct[0] += sum partialHits, total[0] += count loss (each when given); one block; reads 12 chunks B, writes 12.
extern "C" __global__ void loss_finish(const double* __restrict__ partialLoss, const int* __restrict__ partialHits, int chunks,
                                       double count, float* __restrict__ loss, int* __restrict__ correct, float* __restrict__ total)
{
    // Launched as one block of LOSS_BLOCK threads: thread t folds partials t, t + 256, ... in order.
    __shared__ double sums[LOSS_BLOCK];
    __shared__ int hits[LOSS_BLOCK];
    double sum = 0.0;
    int hit = 0;
    for (int k = threadIdx.x; k < chunks; k += LOSS_BLOCK)
    {
        sum += partialLoss[k];
        if (partialHits != 0)
            hit += partialHits[k];
    }
    sums[threadIdx.x] = sum;
    hits[threadIdx.x] = hit;
    block_tree_sum(sums, hits, LOSS_BLOCK);
    if (threadIdx.x == 0)
        finish_loss(sums[0], hits[0], count, loss, partialHits != 0 ? correct : 0, total);
}

// ================================================================ Optimizers

// The optimizers read their hyperparameters from device memory, like the step count, so a captured graph replays
// with the values the host last wrote there: a learning-rate schedule works under graphs. They also count their own
// steps: every thread uses t = step[0] + 1, and the last block to finish (last_block_done) stores t, so the count
// advances once per launch (and per replay) without a launch of its own.
__device__ __forceinline__ void count_step(int* step, int* blocksDone, int t)
{
    if (last_block_done(blocksDone))
        step[0] = t;
}

// Adam (decoupled 0) / AdamW (1) over flat param, grad, m, v [n] and maxV [n] (amsgrad; null: off), t = ++step[0],
// hyper = {lr, b1, b2, eps, wd}; reads 16n bytes (20n), writes 12n (16n).
extern "C" __global__ void adam_step(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m,
                                     float* __restrict__ v, long long n, const double* __restrict__ hyper, int decoupled,
                                     int* __restrict__ step, int* __restrict__ blocksDone, float* __restrict__ maxV)
{
    // PyTorch's update: g += wd p (Adam) or p *= 1 - lr wd (AdamW); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    // with amsgrad maxV = max(maxV, v), which then stands for v below; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    // The scalars are rounded to float exactly where the CPU reference rounds them.
    const double lr = hyper[0], beta1 = hyper[1], beta2 = hyper[2], eps = hyper[3], weightDecay = hyper[4];
    const int stepNow = step[0] + 1;
    const double t = (double)stepNow;
    const float stepSize = (float)(lr / (1.0 - pow(beta1, t)));
    const float sqrtCorrection2 = (float)sqrt(1.0 - pow(beta2, t));
    const float decay = (float)(1.0 - lr * weightDecay);
    const float b1 = (float)beta1, b2 = (float)beta2, epsilon = (float)eps, wd = (float)weightDecay;
    const float keep1 = 1.0f - b1, keep2 = 1.0f - b2;
    const bool amsgrad = maxV != 0;
    auto update = [&](float& p, float g, float& mi, float& vi, float& mx)
    {
        if (decoupled)
            p *= decay;
        else
            g += wd * p;
        mi = b1 * mi + keep1 * g;
        vi = b2 * vi + keep2 * g * g;
        if (amsgrad)
            mx = fmaxf(mx, vi);
        p -= stepSize * mi / (sqrtf(amsgrad ? mx : vi) / sqrtCorrection2 + epsilon);
    };

    const VectorSplit split = split_float4(n, param, grad, m, v, maxV);
    const long long stride = thread_count();
    for (long long k = first_thread(); k < split.vectors; k += stride)
    {
        const long long i = split.head + 4 * k;
        float4 p = *reinterpret_cast<float4*>(param + i);
        const float4 g = *reinterpret_cast<const float4*>(grad + i);
        float4 mi = *reinterpret_cast<float4*>(m + i);
        float4 vi = *reinterpret_cast<float4*>(v + i);
        float4 mx = amsgrad ? *reinterpret_cast<float4*>(maxV + i) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        update(p.x, g.x, mi.x, vi.x, mx.x);
        update(p.y, g.y, mi.y, vi.y, mx.y);
        update(p.z, g.z, mi.z, vi.z, mx.z);
        update(p.w, g.w, mi.w, vi.w, mx.w);
        *reinterpret_cast<float4*>(param + i) = p;
        *reinterpret_cast<float4*>(m + i) = mi;
        *reinterpret_cast<float4*>(v + i) = vi;
        if (amsgrad)
            *reinterpret_cast<float4*>(maxV + i) = mx;
    }
    for_each_scalar(split, n, [&](long long i)
    {
        float unused = 0.0f;
        update(param[i], grad[i], m[i], v[i], amsgrad ? maxV[i] : unused);
    });
    count_step(step, blocksDone, stepNow);
}

// SGD over flat param, grad [n], momentumBuffer [n] (null: none), t = ++step[0], hyper = {lr, mu, dampening, nesterov, wd}; reads 12n bytes (8n), writes 8n (4n).
extern "C" __global__ void sgd_step(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ momentumBuffer,
                                    long long n, const double* __restrict__ hyper, int* __restrict__ step, int* __restrict__ blocksDone)
{
    // PyTorch's update: d = g + wd p; buf = d on the first step (t == 1), else mu buf + (1 - dampening) d;
    // d = nesterov ? d + mu buf : buf; p -= lr d.
    const double lr = hyper[0], momentum = hyper[1], dampening = hyper[2], weightDecay = hyper[4];
    const bool nesterov = hyper[3] != 0.0;
    const int stepNow = step[0] + 1;
    const bool firstStep = stepNow == 1;
    const float rate = (float)lr, mu = (float)momentum, wd = (float)weightDecay, keep = (float)(1.0 - dampening);
    const bool useMomentum = momentumBuffer != 0;
    auto update = [&](float& p, float g, float& buf)
    {
        float d = g + wd * p;
        if (useMomentum)
        {
            buf = firstStep ? d : mu * buf + keep * d;
            d = nesterov ? d + mu * buf : buf;
        }
        p -= rate * d;
    };

    const VectorSplit split = split_float4(n, param, grad, momentumBuffer);
    const long long stride = thread_count();
    for (long long k = first_thread(); k < split.vectors; k += stride)
    {
        const long long i = split.head + 4 * k;
        float4 p = *reinterpret_cast<float4*>(param + i);
        const float4 g = *reinterpret_cast<const float4*>(grad + i);
        float4 b = useMomentum ? *reinterpret_cast<float4*>(momentumBuffer + i) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        update(p.x, g.x, b.x);
        update(p.y, g.y, b.y);
        update(p.z, g.z, b.z);
        update(p.w, g.w, b.w);
        *reinterpret_cast<float4*>(param + i) = p;
        if (useMomentum)
            *reinterpret_cast<float4*>(momentumBuffer + i) = b;
    }
    for_each_scalar(split, n, [&](long long i)
    {
        float unused = 0.0f;
        update(param[i], grad[i], useMomentum ? momentumBuffer[i] : unused);
    });
    count_step(step, blocksDone, stepNow);
}

// ================================================================ Gradient clipping

// clip_grad_norm_: the squares of every gradient are summed chunk by chunk (NORM_CHUNK elements each, one block per
// chunk, in double), the chunk sums folded in a fixed order by one block, and every gradient scaled by the coefficient
// that fold leaves in device memory. The chunks depend on n alone, so the norm is the same bits on every run and on
// every GPU, and no value travels to the host.
#define NORM_BLOCK 256
#define NORM_CHUNK (NORM_BLOCK * 64)

// partials[c] = sum of x[i]^2 over chunk c of x[n], in double; blocks of NORM_BLOCK threads stride over the chunks; reads 4n bytes, writes 8 per chunk.
extern "C" __global__ void sum_squares(const float* __restrict__ x, long long n, double* __restrict__ partials)
{
    __shared__ double sums[NORM_BLOCK];
    const long long chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    for (long long chunk = blockIdx.x; chunk < chunks; chunk += gridDim.x)
    {
        const long long start = chunk * NORM_CHUNK;
        const long long end = start + NORM_CHUNK < n ? start + NORM_CHUNK : n;
        double acc = 0.0;
        for (long long i = start + threadIdx.x; i < end; i += NORM_BLOCK)
        {
            const double v = (double)x[i];
            acc += v * v;
        }
        sums[threadIdx.x] = acc;
        block_tree_sum(sums, 0, NORM_BLOCK);
        if (threadIdx.x == 0)
            partials[chunk] = sums[0];
        __syncthreads();
    }
}

// norm[0] = sqrt(sum partials[count]); coef[0] = min(maxNorm / (norm + 1e-6), 1), NaN staying NaN as in PyTorch; one block; reads 8 per partial, writes 12 bytes.
extern "C" __global__ void clip_coefficient(const double* __restrict__ partials, int count, double maxNorm,
                                            float* __restrict__ norm, double* __restrict__ coef)
{
    __shared__ double sums[NORM_BLOCK];
    double sum = 0.0;
    for (int k = threadIdx.x; k < count; k += NORM_BLOCK)
        sum += partials[k];
    sums[threadIdx.x] = sum;
    block_tree_sum(sums, 0, NORM_BLOCK);
    if (threadIdx.x == 0)
    {
        const double total = sqrt(sums[0]);
        const double c = maxNorm / (total + 1e-6);
        norm[0] = (float)total;
        coef[0] = c > 1.0 ? 1.0 : c;
    }
}

// x[n] *= (float)coef[0]; reads 4n bytes, writes 4n.
extern "C" __global__ void scale_by(float* __restrict__ x, long long n, const double* __restrict__ coef)
{
    const float c = (float)coef[0];
    map_unary(x, x, n, [c](float a) { return a * c; });
}

// x[n] = clamp(x, low, high), NaN staying NaN (clip_grad_value_); reads 4n bytes, writes 4n.
extern "C" __global__ void clamp(float* __restrict__ x, long long n, float low, float high)
{
    map_unary(x, x, n, [low, high](float a) { return a < low ? low : a > high ? high : a; });
}

// ================================================================ Dropout

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the counter-based generator
// cuRAND and PyTorch's CUDA dropout use: four random words from a 128-bit counter and a 64-bit key, with no state
// between calls, so any thread can draw any element's number and a replayed graph draws what a fresh launch would.
// Nn/Random/Philox.cs is its host twin.
__device__ __forceinline__ uint4 philox4x32_10(uint4 counter, uint2 key)
{
    for (int round = 0; round < 10; round++)
    {
        if (round > 0)
        {
            key.x += 0x9E3779B9u;
            key.y += 0xBB67AE85u;
        }
        const unsigned int hi0 = __umulhi(0xD2511F53u, counter.x), lo0 = 0xD2511F53u * counter.x;
        const unsigned int hi1 = __umulhi(0xCD9E8D57u, counter.z), lo1 = 0xCD9E8D57u * counter.z;
        counter = make_uint4(hi1 ^ counter.y ^ key.x, lo1, hi0 ^ counter.w ^ key.y, lo0);
    }
    return counter;
}

// nn.Dropout in training: noise[i] = scale when element i is kept, else 0, and y = x * noise. rng = {seed lo, seed hi,
// call lo, call hi} on the device: element i keeps when word i % 4 of Philox(counter {i / 4 lo, i / 4 hi, call lo,
// call hi}, key {seed lo, seed hi}) is below keepBelow (round((1 - p) 2^32)). The last block to finish advances the
// call, so each launch and each replay draws a fresh mask without a launch of its own; reads 4n bytes, writes 8n.
extern "C" __global__ void dropout_forward(const float* __restrict__ x, float* __restrict__ y, float* __restrict__ noise, long long n,
                                           unsigned long long keepBelow, float scale, unsigned int* __restrict__ rng,
                                           int* __restrict__ blocksDone)
{
    const uint2 key = make_uint2(rng[0], rng[1]);
    const unsigned int call0 = rng[2], call1 = rng[3];
    const long long groups = (n + 3) / 4;
    for (long long g = first_thread(); g < groups; g += thread_count())
    {
        const uint4 r = philox4x32_10(make_uint4((unsigned int)g, (unsigned int)((unsigned long long)g >> 32), call0, call1), key);
        const unsigned int words[4] = {r.x, r.y, r.z, r.w};
        const long long first = 4 * g;
        for (int lane = 0; lane < 4 && first + lane < n; lane++)
        {
            const float keep = words[lane] < keepBelow ? scale : 0.0f;
            noise[first + lane] = keep;
            y[first + lane] = x[first + lane] * keep;
        }
    }
    if (last_block_done(blocksDone))
    {
        const unsigned long long next = ((unsigned long long)call1 << 32 | call0) + 1;
        rng[2] = (unsigned int)next;
        rng[3] = (unsigned int)(next >> 32);
    }
}

// ================================================================ A small MLP, fused

// A stack of up to MLP_MAX_LAYERS Linear layers, each followed by an activation, every layer at most MLP_WIDTH wide
// (the first layer's input may be any width): the whole forward is one launch, the backward two (the gradients that
// flow down the stack, then every weight and bias gradient). Blocks own MLP_ROWS rows each and keep the rows'
// activations in shared memory between layers; thread j computes column j of a layer for those rows. Every sum runs
// in a fixed order (k or j ascending, rows ascending), so results are the same bits on every run; they differ from
// the CPU reference's blocked GEMMs only by rounding, within the GEMM tolerances.
#define MLP_MAX_LAYERS 4
#define MLP_WIDTH 128
#define MLP_ROWS 4

// One layer: y[rows, out] = act(a[rows, in] w[out, in]^T + b[out]), a being the previous layer's y (x for the first).
// In the backward kernels dz[rows, out] is dLoss/d(a w^T + b), and dw[out, in], db[out] are the gradients added to.
struct MlpLayer
{
    const float* w;
    const float* b;
    float* y;
    float* dz;
    float* dw;
    float* db;
    int in;
    int out;
    int act;
    int overwrite; // nonzero: dw and db hold nothing yet (cleared by zero_grad), so they are written, not added to
};

// Layer `layer` of the stack (0-based), copied: selecting among the parameters by value keeps them in registers, where
// a reference would put the four in local memory.
__device__ __forceinline__ MlpLayer mlp_layer(int layer, const MlpLayer l0, const MlpLayer l1, const MlpLayer l2, const MlpLayer l3)
{
    return layer == 0 ? l0 : layer == 1 ? l1 : layer == 2 ? l2 : l3;
}

// Columns of W staged in shared memory at a time by mlp_forward_layer.
#define MLP_TILE 32

// The rows [row0, row0 + count) of one layer's forward: thread j < out sums a[r, k] w[j, k] over k ascending, adds
// b[j], applies the activation and writes y and next[r][j]. `a` holds MLP_ROWS rows `stride` floats apart. W is read a
// tile of MLP_TILE columns at a time into shared memory by the whole block, consecutive threads reading consecutive
// columns of a row (thread j reading its own row straight from global memory would read `in` floats apart from its
// neighbours, one memory transaction each); the tile is stored transposed, with a padded row so neither the stores nor
// thread j's reads of column kk collide in a bank. The sum's order, and so its result, is what it was.
__device__ __forceinline__ void mlp_forward_layer(const MlpLayer L, const float* a, int stride, int row0, int count,
                                                  float* next, float* tile)
{
    const int j = threadIdx.x;
    float acc[MLP_ROWS];
    for (int r = 0; r < MLP_ROWS; r++)
        acc[r] = 0.0f;
    for (int k0 = 0; k0 < L.in; k0 += MLP_TILE)
    {
        const int width = L.in - k0 < MLP_TILE ? L.in - k0 : MLP_TILE;
        for (int e = threadIdx.x; e < L.out * MLP_TILE; e += blockDim.x)
        {
            const int row = e / MLP_TILE, kk = e % MLP_TILE;
            if (kk < width)
                tile[kk * (MLP_WIDTH + 1) + row] = L.w[(long long)row * L.in + k0 + kk];
        }
        __syncthreads();
        if (j < L.out)
            for (int kk = 0; kk < width; kk++)
            {
                const float w = tile[kk * (MLP_WIDTH + 1) + j];
                for (int r = 0; r < MLP_ROWS; r++)
                    if (r < count)
                        acc[r] += a[r * stride + k0 + kk] * w;
            }
        __syncthreads();
    }
    if (j < L.out)
    {
        const float bias = L.b != 0 ? L.b[j] : 0.0f;
        for (int r = 0; r < count; r++)
        {
            const float v = forward_keeping_output(L.act, L.b != 0 ? acc[r] + bias : acc[r]);
            L.y[(long long)(row0 + r) * L.out + j] = v;
            next[r * MLP_WIDTH + j] = v;
        }
    }
    __syncthreads();
}

// y of every layer for x[rows, l0.in]; one block of MLP_WIDTH threads per MLP_ROWS rows; reads 4 rows (in + outs) B + weights per block, writes 4 rows outs.
extern "C" __global__ void mlp_forward(const float* __restrict__ x, int rows, int layers, MlpLayer l0, MlpLayer l1, MlpLayer l2,
                                       MlpLayer l3)
{
    __shared__ float buffers[2][MLP_ROWS * MLP_WIDTH];
    __shared__ float tile[MLP_TILE * (MLP_WIDTH + 1)];
    for (int row0 = blockIdx.x * MLP_ROWS; row0 < rows; row0 += gridDim.x * MLP_ROWS)
    {
        const int count = rows - row0 < MLP_ROWS ? rows - row0 : MLP_ROWS;
        mlp_forward_layer(l0, x + (long long)row0 * l0.in, l0.in, row0, count, buffers[0], tile);
        for (int layer = 1; layer < layers; layer++)
            mlp_forward_layer(mlp_layer(layer, l0, l1, l2, l3), buffers[(layer - 1) & 1], MLP_WIDTH, row0, count, buffers[layer & 1], tile);
    }
}

// dz of every layer from gradOutput[rows, out] = dLoss/dy of the last layer, and gradInput[rows, l0.in] = dz0 w0 when not null; reads 4 rows (out + ins + outs) B + weights per block, writes 4 rows (outs + in).
extern "C" __global__ void mlp_backward_data(const float* __restrict__ gradOutput, float* __restrict__ gradInput, int rows, int layers,
                                             MlpLayer l0, MlpLayer l1, MlpLayer l2, MlpLayer l3)
{
    // dz[last] = gradOutput * act'(y[last]) (the last layer's dz may be gradOutput itself when its activation is the
    // identity); then down the stack dz[l - 1] = (dz[l] w[l]) * act'(y[l - 1]), the sum over j ascending.
    __shared__ float buffers[2][MLP_ROWS * MLP_WIDTH];
    for (int row0 = blockIdx.x * MLP_ROWS; row0 < rows; row0 += gridDim.x * MLP_ROWS)
    {
        const int count = rows - row0 < MLP_ROWS ? rows - row0 : MLP_ROWS;
        const MlpLayer last = mlp_layer(layers - 1, l0, l1, l2, l3);
        float* current = buffers[0];
        for (int j = threadIdx.x; j < last.out; j += blockDim.x)
            for (int r = 0; r < count; r++)
            {
                const long long i = (long long)(row0 + r) * last.out + j;
                const float dz = last.act == 0 ? gradOutput[i] : gradOutput[i] * slope_from_output(last.act, last.y[i]);
                if (last.dz != gradOutput)
                    last.dz[i] = dz;
                current[r * MLP_WIDTH + j] = dz;
            }
        __syncthreads();
        for (int layer = layers - 1; layer >= 0; layer--)
        {
            const MlpLayer L = mlp_layer(layer, l0, l1, l2, l3);
            const bool toInput = layer == 0;
            if (toInput && gradInput == 0)
                break;
            const MlpLayer below = mlp_layer(toInput ? 0 : layer - 1, l0, l1, l2, l3);
            float* next = buffers[(layers - layer) & 1];
            for (int k = threadIdx.x; k < L.in; k += blockDim.x)
            {
                float acc[MLP_ROWS];
                for (int r = 0; r < MLP_ROWS; r++)
                    acc[r] = 0.0f;
                for (int j = 0; j < L.out; j++)
                {
                    const float w = L.w[(long long)j * L.in + k];
                    for (int r = 0; r < MLP_ROWS; r++)
                        if (r < count)
                            acc[r] += current[r * MLP_WIDTH + j] * w;
                }
                for (int r = 0; r < count; r++)
                {
                    const long long i = (long long)(row0 + r) * L.in + k;
                    if (toInput)
                    {
                        gradInput[i] = acc[r];
                    }
                    else
                    {
                        const float dz = acc[r] * slope_from_output(below.act, below.y[i]);
                        below.dz[i] = dz;
                        next[r * MLP_WIDTH + k] = dz;
                    }
                }
            }
            __syncthreads();
            current = next;
        }
    }
}

// dw[l] += dz[l]^T a[l] and db[l] += column sums of dz[l] (= with overwrite) for every layer (a[0] = x), one element per thread, rows ascending; reads 4 rows (ins + outs) per element column, writes 4 (weights + biases).
extern "C" __global__ void mlp_weight_grads(const float* __restrict__ x, int rows, int layers, MlpLayer l0, MlpLayer l1, MlpLayer l2,
                                            MlpLayer l3)
{
    // Elements are numbered layer by layer, each layer row-major over [out, in + 1]: column `in` is the bias. Threads
    // next to each other take neighbouring columns, so a's rows are read coalesced and dz's element is shared.
    long long total = 0;
    for (int layer = 0; layer < layers; layer++)
    {
        const MlpLayer L = mlp_layer(layer, l0, l1, l2, l3);
        total += (long long)L.out * (L.in + 1);
    }
    for (long long e = first_thread(); e < total; e += thread_count())
    {
        long long local = e;
        int layer = 0;
        while (local >= (long long)mlp_layer(layer, l0, l1, l2, l3).out * (mlp_layer(layer, l0, l1, l2, l3).in + 1))
        {
            const MlpLayer L = mlp_layer(layer, l0, l1, l2, l3);
            local -= (long long)L.out * (L.in + 1);
            layer++;
        }
        const MlpLayer L = mlp_layer(layer, l0, l1, l2, l3);
        const float* a = layer == 0 ? x : mlp_layer(layer - 1, l0, l1, l2, l3).y;
        const int j = (int)(local / (L.in + 1)), k = (int)(local % (L.in + 1));
        float acc = 0.0f;
        if (k == L.in)
        {
            if (L.db == 0)
                continue;
            for (int r = 0; r < rows; r++)
                acc += L.dz[(long long)r * L.out + j];
            L.db[j] = L.overwrite ? acc : L.db[j] + acc;
        }
        else
        {
            for (int r = 0; r < rows; r++)
                acc += L.dz[(long long)r * L.out + j] * a[(long long)r * L.in + k];
            float* dw = L.dw + (long long)j * L.in + k;
            *dw = L.overwrite ? acc : *dw + acc;
        }
    }
}

// ================================================================ Data

// x[b, d] = images[idx[b], d] * scale + shift, y[b] = labels[idx[b]]; reads batch (features + 5) B, writes 4 batch (features + 1).
extern "C" __global__ void gather_normalize(const unsigned char* __restrict__ images, const unsigned char* __restrict__ labels,
                                            const int* __restrict__ indices, float* __restrict__ x, int* __restrict__ y,
                                            int batch, int features, int count, float scale, float shift)
{
    // uint8 images [count, features], int32 indices [batch], scale = 1 / (255 std), shift = -mean / std; one block
    // per row, grid-stride. An index outside [0, count) gives a NaN row and label -1.
    // Whole 4-byte words of a row are aligned when the data set and the row length are; x rows likewise for float4.
    const bool vector = features % 4 == 0 && ((unsigned long long)images & 3) == 0 && aligned16(x);
    for (int b = blockIdx.x; b < batch; b += gridDim.x)
    {
        const int row = indices[b];
        const bool inRange = (unsigned)row < (unsigned)count;
        float* out = x + (long long)b * features;
        if (threadIdx.x == 0)
            y[b] = inRange ? (int)labels[row] : -1;
        if (!inRange)
        {
            for (int d = threadIdx.x; d < features; d += blockDim.x)
                out[d] = NAN;
            continue;
        }
        const unsigned char* in = images + (long long)row * features;
        if (vector)
        {
            const unsigned int* words = reinterpret_cast<const unsigned int*>(in);
            float4* out4 = reinterpret_cast<float4*>(out);
            for (int w = threadIdx.x; w < features / 4; w += blockDim.x)
            {
                const unsigned int bytes = words[w]; // little-endian: byte 0 is the lowest
                out4[w] = make_float4((float)(bytes & 0xffu) * scale + shift, (float)((bytes >> 8) & 0xffu) * scale + shift,
                                      (float)((bytes >> 16) & 0xffu) * scale + shift, (float)(bytes >> 24) * scale + shift);
            }
        }
        else
        {
            for (int d = threadIdx.x; d < features; d += blockDim.x)
                out[d] = (float)in[d] * scale + shift;
        }
    }
}

// dst[b, :] = src[indices[b], :] for rows of `width` 4-byte words (float32 or int32 data alike); one block per row,
// grid-stride. An index outside [0, count) fills its row with `missing` (NaN's bits for features, -1 for labels).
// Reads and writes 4 batch width bytes.
extern "C" __global__ void gather_rows(const unsigned int* __restrict__ src, const int* __restrict__ indices, unsigned int* __restrict__ dst,
                                       int batch, int width, int count, unsigned int missing)
{
    for (int b = blockIdx.x; b < batch; b += gridDim.x)
    {
        const int row = indices[b];
        const bool inRange = (unsigned)row < (unsigned)count;
        const unsigned int* in = src + (long long)row * width;
        unsigned int* out = dst + (long long)b * width;
        for (int w = threadIdx.x; w < width; w += blockDim.x)
            out[w] = inRange ? in[w] : missing;
    }
}

// ================================================================ Utilities

// y[n] = value; writes 4n bytes.
extern "C" __global__ void fill(float* __restrict__ y, long long n, float value)
{
    const VectorSplit split = split_float4(n, y);
    const long long stride = thread_count();
    const float4 v4 = make_float4(value, value, value, value);
    for (long long v = first_thread(); v < split.vectors; v += stride)
        *reinterpret_cast<float4*>(y + split.head + 4 * v) = v4;
    for_each_scalar(split, n, [&](long long i) { y[i] = value; });
}

// y[n] += alpha * x; reads 8n bytes, writes 4n.
extern "C" __global__ void axpy(const float* __restrict__ x, float* __restrict__ y, long long n, float alpha)
{
    map_binary(x, y, y, n, [alpha](float a, float b) { return b + alpha * a; });
}

// y[n] = x (bit patterns, so int32 data copies too); reads 4n bytes, writes 4n.
extern "C" __global__ void copy(const float* __restrict__ x, float* __restrict__ y, long long n)
{
    map_unary(x, y, n, [](float a) { return a; });
}

// z[n] = x * y elementwise, z may be x or y (dropout's backward: dx = dy * noise); reads 8n bytes, writes 4n.
extern "C" __global__ void multiply(const float* x, const float* y, float* z, long long n)
{
    map_binary(x, y, z, n, [](float a, float b) { return a * b; });
}

