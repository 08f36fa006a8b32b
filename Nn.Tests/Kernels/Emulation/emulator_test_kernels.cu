// emulator_test_kernels.cu: kernels that exercise the host emulator; plain CUDA, compiled by NVRTC and g++ alike.
#ifdef CUDANN_EMULATOR
#include "cuda_emulator.h"
#endif

// ---- Block reductions through shared memory ----------------------------------------------------------------
// sums[b] = sum of x[b*blockDim .. (b+1)*blockDim) (zero past n); blockDim a power of two up to 1024.
extern "C" __global__ void block_sum(const float* __restrict__ x, float* __restrict__ sums, int n)
{
    __shared__ float partial[1024];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    partial[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    for (unsigned int stride = blockDim.x / 2; stride > 0; stride >>= 1)
    {
        if (threadIdx.x < stride)
            partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        sums[blockIdx.x] = partial[0];
}

// block_sum with the __syncthreads after the first store planted out: warp 0 reads slots later warps have not written.
extern "C" __global__ void block_sum_missing_sync(const float* __restrict__ x, float* __restrict__ sums, int n)
{
    __shared__ float partial[1024];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    partial[threadIdx.x] = i < n ? x[i] : 0.0f;
    for (unsigned int stride = blockDim.x / 2; stride > 0; stride >>= 1)
    {
        if (threadIdx.x < stride)
            partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        sums[blockIdx.x] = partial[0];
}

// y[i] = the value the mirrored thread of the block stored, with no barrier between store and load: a planted race.
extern "C" __global__ void mirror_race(const float* __restrict__ x, float* __restrict__ y)
{
    __shared__ float staged[1024];
    int base = blockIdx.x * blockDim.x;
    staged[threadIdx.x] = x[base + threadIdx.x];
    y[base + threadIdx.x] = staged[blockDim.x - 1 - threadIdx.x];
}

// ---- Warp shuffles ------------------------------------------------------------------------------------------
// sums[b] = block b's sum by butterfly (xor) shuffles within warps, then across warp totals; blockDim a multiple of 32.
extern "C" __global__ void warp_sum_xor(const float* __restrict__ x, float* __restrict__ sums, int n)
{
    __shared__ float warp_totals[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
    float v = i < n ? x[i] : 0.0f;
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    if (lane == 0)
        warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0)
    {
        v = lane < warps ? warp_totals[lane] : 0.0f;
        for (int offset = 16; offset > 0; offset >>= 1)
            v += __shfl_xor_sync(0xffffffffu, v, offset);
        if (lane == 0)
            sums[blockIdx.x] = v;
    }
}

// sums[b] = block b's sum by shuffle-down within warps; any blockDim: lanes past the block's end are skipped.
extern "C" __global__ void warp_sum_down(const float* __restrict__ x, float* __restrict__ sums, int n)
{
    __shared__ float warp_totals[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
    int lanes_here = min(32, (int)blockDim.x - warp * 32);
    unsigned int mask = __ballot_sync(0xffffffffu, 1);
    float v = i < n ? x[i] : 0.0f;
    for (int offset = 16; offset > 0; offset >>= 1)
    {
        float other = __shfl_down_sync(mask, v, offset);
        if (lane + offset < lanes_here)
            v += other;
    }
    if (lane == 0)
        warp_totals[warp] = v;
    __syncthreads();
    if (threadIdx.x == 0)
    {
        float total = 0.0f;
        for (int w = 0; w < warps; w++)
            total += warp_totals[w];
        sums[blockIdx.x] = total;
    }
}

// ballots[warp] = __ballot_sync of x > 0; counts[block] = __syncthreads_count of x > 0; flags = (any, all) per warp.
extern "C" __global__ void votes(const float* __restrict__ x, unsigned int* ballots, int* counts, int* flags)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int global_warp = i / 32;
    bool positive = x[i] > 0.0f;
    unsigned int ballot = __ballot_sync(0xffffffffu, positive);
    int any = __any_sync(0xffffffffu, positive), all = __all_sync(0xffffffffu, positive);
    int count = __syncthreads_count(positive);
    if (threadIdx.x % 32 == 0)
    {
        ballots[global_warp] = ballot;
        flags[2 * global_warp] = any;
        flags[2 * global_warp + 1] = all;
    }
    if (threadIdx.x == 0)
        counts[blockIdx.x] = count;
}

// ---- Kernels the emulator must reject ---------------------------------------------------------------------
// Two warps wait at two different __syncthreads.
extern "C" __global__ void divergent_barrier(float* y)
{
    if (threadIdx.x < 32)
    {
        __syncthreads();
        y[threadIdx.x] = 1.0f;
    }
    else
    {
        __syncthreads();
        y[threadIdx.x] = 2.0f;
    }
}

// Half of warp 0 waits at __syncthreads while the other half waits in a shuffle for it: nothing can move.
extern "C" __global__ void barrier_inside_shuffle(float* y)
{
    float v = (float)threadIdx.x;
    if (threadIdx.x % 32 < 16)
        __syncthreads();
    else
        v = __shfl_xor_sync(0xffffffffu, v, 1);
    y[threadIdx.x] = v;
}

extern "C" __global__ void trap_when_negative(const float* x)
{
    if (x[threadIdx.x] < 0.0f)
        __trap();
}

// ---- Memory: dynamic shared memory, vector loads, atomics, argument unpacking ------------------------------
// y = x reversed within each block, staged through dynamic shared memory (blockDim floats).
extern "C" __global__ void reverse_in_block(const float* __restrict__ x, float* __restrict__ y)
{
    extern __shared__ float staged[];
    int base = blockIdx.x * blockDim.x;
    staged[threadIdx.x] = x[base + threadIdx.x];
    __syncthreads();
    y[base + threadIdx.x] = staged[blockDim.x - 1 - threadIdx.x];
}

// totals[b] = sum over block b of x, through dynamic shared memory declared as raw aligned bytes.
extern "C" __global__ void sum_through_raw_shared(const float* __restrict__ x, float* __restrict__ totals)
{
    extern __shared__ __align__(16) unsigned char raw[];
    float* cells = reinterpret_cast<float*>(raw);
    cells[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
    __syncthreads();
    if (threadIdx.x == 0)
    {
        float total = 0.0f;
        for (unsigned int t = 0; t < blockDim.x; t++)
            total += cells[t];
        totals[blockIdx.x] = total;
    }
}

// y[i] = a * x[i]: 16-byte float4 loads and stores for the aligned body, a scalar tail; grid-stride loops.
extern "C" __global__ void scale_vectorized(const float* __restrict__ x, float* __restrict__ y, float a, int n)
{
    int stride = blockDim.x * gridDim.x;
    int vectors = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float4* y4 = reinterpret_cast<float4*>(y);
    for (int v = blockIdx.x * blockDim.x + threadIdx.x; v < vectors; v += stride)
    {
        float4 value = __ldg(&x4[v]);
        y4[v] = make_float4(a * value.x, a * value.y, a * value.z, a * value.w);
    }
    for (int i = vectors * 4 + blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = a * x[i];
}

// total += x[i] for every i, count += 1 for each positive x[i], total64 += x[i] in double: one atomic per thread.
extern "C" __global__ void atomic_totals(const float* __restrict__ x, float* total, double* total64, unsigned int* count, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    atomicAdd(total, x[i]);
    atomicAdd(total64, (double)x[i]);
    if (x[i] > 0.0f)
        atomicAdd(count, 1u);
}

// Echoes parameters of mixed sizes and types, to check the void** array is unpacked as cuLaunchKernel would.
extern "C" __global__ void echo_arguments(float* out, int i, float f, const unsigned char* bytes, long long big, long long* out64, double d, unsigned char small)
{
    if (threadIdx.x != 0 || blockIdx.x != 0)
        return;
    uchar4 packed = *reinterpret_cast<const uchar4*>(bytes);
    out[0] = f;
    out[1] = (float)(packed.x + 2 * packed.y + 4 * packed.z + 8 * packed.w);
    out[2] = (float)d;
    out[3] = (float)small;
    out64[0] = big;
    out64[1] = i;
}

// y[i] = a * x[i] + y[i], for graph capture tests.
extern "C" __global__ void axpy(float a, const float* __restrict__ x, float* __restrict__ y, int n)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        y[i] = a * x[i] + y[i];
}

// ---- Planted out-of-bounds accesses: each must fail its launch on the emulator, naming the access ---------
// y[i] = x[i] for i <= n: with n the buffers' length, the last thread reads one element past x.
extern "C" __global__ void copy_one_too_many(const float* __restrict__ x, float* __restrict__ y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n)
        y[i] = x[i];
}

// y[i] = 1 for i <= n: with n the buffer's length, the last thread writes one element past y.
extern "C" __global__ void fill_one_too_many(float* y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n)
        y[i] = 1.0f;
}

// y[threadIdx.x - shift] = 2: thread 0 writes `shift` elements before the start of y.
extern "C" __global__ void write_before_start(float* y, int shift)
{
    y[(int)threadIdx.x - shift] = 2.0f;
}

// y[t] = x[t + 1] staged through a 32-float static shared array: thread 31 reads one element past it.
extern "C" __global__ void shared_read_past_end(const float* __restrict__ x, float* __restrict__ y)
{
    __shared__ float tile[32];
    tile[threadIdx.x] = x[threadIdx.x];
    __syncthreads();
    y[threadIdx.x] = tile[threadIdx.x + 1];
}

// A namespace-scope static shared array, written one element past its end by thread 16.
__shared__ float scratch_row[16];
extern "C" __global__ void global_shared_write_past_end(float* y)
{
    scratch_row[threadIdx.x] = (float)threadIdx.x;
    __syncthreads();
    if (threadIdx.x < 16)
        y[threadIdx.x] = scratch_row[15 - threadIdx.x];
}
