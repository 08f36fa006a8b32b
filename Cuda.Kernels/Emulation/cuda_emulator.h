// cuda_emulator.h: the CUDA built-ins a kernel source uses, for g++ on the host (CudaNn's kernel emulator).
//
// A CUDA source includes this only under CUDANN_EMULATOR and is otherwise compiled unchanged. Each CUDA thread
// runs as a fiber on one OS thread; cuda_emulator_runtime.cpp switches fibers only at __syncthreads and at
// warp-synchronous calls (shuffles, votes, __syncwarp), so everything between two such calls runs uninterrupted.
//
// What a source must keep to (NVRTC accepts all of it too):
// - Entry points are written `extern "C" __global__ void name(...)` at global scope (__launch_bounds__ allowed),
//   not overloaded, not templates, with parameters passed by value. Templates and __device__ helpers are fine.
// - `extern __shared__ T name[]` is declared inside a global-scope function or at global scope; every such name is
//   the same buffer (at most 48 KiB). No other thread_local variables: shared memory is the module's TLS block.
// - A static `__shared__` variable is declared one per statement, `__shared__ [__align__(N)] T name[A]...;`: the
//   build rewrites each so the access checks (cuda_emulator_check.cpp) know its extent, and refuses other forms.
// - No inline PTX (asm), no spinning on memory another thread writes (one fiber runs until it yields), no
//   cooperative groups, no __half; __CUDA_ARCH__ is not defined here. Float atomics follow the run order.
#pragma once
#ifndef CUDANN_EMULATOR
#define CUDANN_EMULATOR 1
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <type_traits>

#define CUDANN_EMU_INTERNAL __attribute__((visibility("hidden")))

// ---- Qualifiers ---------------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __grid_constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// thread_local is the one storage class that gives a block-scope variable static duration and may also be
// `extern` (dynamic shared memory). All fibers of a launch share one OS thread, so a block sees one copy; blocks
// run one after another, and the runtime poisons this module's whole TLS block (all shared memory) before each.
#define __shared__ thread_local

// Dynamic shared memory a launch may ask for: CUDA's limit without an opt-in attribute.
#define CUDANN_EMU_DYNAMIC_SHARED_BYTES 49152

// ---- Built-in variables and vector types --------------------------------------------------------------------
struct uint3 { unsigned int x, y, z; };
struct dim3
{
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return {x, y, z}; }
};

// Written by the scheduler before it resumes each fiber; plain globals, so a kernel reloads them after every
// call that may switch fibers.
extern CUDANN_EMU_INTERNAL uint3 threadIdx;
extern CUDANN_EMU_INTERNAL uint3 blockIdx;
extern CUDANN_EMU_INTERNAL dim3 blockDim;
extern CUDANN_EMU_INTERNAL dim3 gridDim;
constexpr int warpSize = 32;

#define CUDANN_EMU_VECTORS(T, name, align2, align4)                                                          \
    struct __attribute__((aligned(align2))) name##2 { T x, y; };                                               \
    struct name##3 { T x, y, z; };                                                                             \
    struct __attribute__((aligned(align4))) name##4 { T x, y, z, w; };                                         \
    static inline name##2 make_##name##2(T x, T y) { return {x, y}; }                                          \
    static inline name##3 make_##name##3(T x, T y, T z) { return {x, y, z}; }                                  \
    static inline name##4 make_##name##4(T x, T y, T z, T w) { return {x, y, z, w}; }
CUDANN_EMU_VECTORS(signed char, char, 2, 4)
CUDANN_EMU_VECTORS(unsigned char, uchar, 2, 4)
CUDANN_EMU_VECTORS(short, short, 4, 8)
CUDANN_EMU_VECTORS(unsigned short, ushort, 4, 8)
CUDANN_EMU_VECTORS(int, int, 8, 16)
CUDANN_EMU_VECTORS(float, float, 8, 16)
CUDANN_EMU_VECTORS(long long, longlong, 16, 16)
CUDANN_EMU_VECTORS(unsigned long long, ulonglong, 16, 16)
CUDANN_EMU_VECTORS(double, double, 16, 16)
struct __attribute__((aligned(8))) uint2 { unsigned int x, y; };
struct __attribute__((aligned(16))) uint4 { unsigned int x, y, z, w; };
static inline uint2 make_uint2(unsigned int x, unsigned int y) { return {x, y}; }
static inline uint3 make_uint3(unsigned int x, unsigned int y, unsigned int z) { return {x, y, z}; }
static inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) { return {x, y, z, w}; }

// ---- The scheduler's entry points (cuda_emulator_runtime.cpp) -----------------------------------------------
namespace cudann_emu
{
// What a warp-synchronous call sees once every live lane it names has arrived: each lane's published value
// (valid until this fiber next yields) and which lanes published.
struct WarpArrival
{
    const uint64_t* values;
    unsigned int arrived;
};
enum BarrierKind { BarrierPlain, BarrierCount, BarrierAnd, BarrierOr };

CUDANN_EMU_INTERNAL WarpArrival warp_sync(unsigned int mask, uint64_t value, const char* operation);
CUDANN_EMU_INTERNAL int block_sync(BarrierKind kind, int predicate, const char* file, int line);
CUDANN_EMU_INTERNAL unsigned int active_mask();
[[noreturn]] CUDANN_EMU_INTERNAL void fail(const char* message);

inline int lane_id() { return (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % warpSize; }

template <class T> inline uint64_t to_bits(T value)
{
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "warp exchanges carry at most 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &value, sizeof(T));
    return bits;
}
template <class T> inline T from_bits(uint64_t bits)
{
    T value;
    memcpy(&value, &bits, sizeof(T));
    return value;
}

// A lane that did not take part in the exchange (exited, outside the block, not in the mask) reads as all
// one bits: NaN for float, -1 for int. Hardware leaves such values undefined; poison makes relying on one visible.
template <class T> inline T shuffle(unsigned int mask, T var, int source, const char* operation)
{
    WarpArrival all = warp_sync(mask, to_bits(var), operation);
    return from_bits<T>((all.arrived >> source) & 1u ? all.values[source] : ~0ull);
}

inline void check_width(int width)
{
    if (width < 1 || width > warpSize || (width & (width - 1)) != 0)
        fail("a shuffle's width must be a power of two from 1 to 32");
}
} // namespace cudann_emu

// ---- Barriers, shuffles and votes ---------------------------------------------------------------------------
// The call site names the barrier, so threads waiting at two different __syncthreads are reported as divergent.
#define __syncthreads() ((void)cudann_emu::block_sync(cudann_emu::BarrierPlain, 1, __FILE__, __LINE__))
#define __syncthreads_count(p) cudann_emu::block_sync(cudann_emu::BarrierCount, (p) != 0, __FILE__, __LINE__)
#define __syncthreads_and(p) cudann_emu::block_sync(cudann_emu::BarrierAnd, (p) != 0, __FILE__, __LINE__)
#define __syncthreads_or(p) cudann_emu::block_sync(cudann_emu::BarrierOr, (p) != 0, __FILE__, __LINE__)

inline void __syncwarp(unsigned int mask = 0xffffffffu) { cudann_emu::warp_sync(mask, 0, "__syncwarp"); }
inline unsigned int __activemask() { return cudann_emu::active_mask(); }

template <class T> inline T __shfl_sync(unsigned int mask, T var, int srcLane, int width = warpSize)
{
    cudann_emu::check_width(width);
    int lane = cudann_emu::lane_id();
    return cudann_emu::shuffle(mask, var, (lane & ~(width - 1)) + (srcLane & (width - 1)), "__shfl_sync");
}
template <class T> inline T __shfl_up_sync(unsigned int mask, T var, unsigned int delta, int width = warpSize)
{
    cudann_emu::check_width(width);
    int lane = cudann_emu::lane_id();
    int source = (lane & (width - 1)) >= (int)delta ? lane - (int)delta : lane;
    return cudann_emu::shuffle(mask, var, source, "__shfl_up_sync");
}
template <class T> inline T __shfl_down_sync(unsigned int mask, T var, unsigned int delta, int width = warpSize)
{
    cudann_emu::check_width(width);
    int lane = cudann_emu::lane_id();
    int source = (lane & (width - 1)) + (int)delta < width ? lane + (int)delta : lane;
    return cudann_emu::shuffle(mask, var, source, "__shfl_down_sync");
}
template <class T> inline T __shfl_xor_sync(unsigned int mask, T var, int laneMask, int width = warpSize)
{
    cudann_emu::check_width(width);
    int lane = cudann_emu::lane_id();
    int source = lane ^ laneMask;
    // CUDA: a lane may read from earlier groups of `width` lanes but reads its own value for later ones.
    if (source >= (lane / width + 1) * width)
        source = lane;
    return cudann_emu::shuffle(mask, var, source & 31, "__shfl_xor_sync");
}

inline unsigned int __ballot_sync(unsigned int mask, int predicate)
{
    cudann_emu::WarpArrival all = cudann_emu::warp_sync(mask, predicate != 0, "__ballot_sync");
    unsigned int bits = 0;
    for (int lane = 0; lane < warpSize; lane++)
        if (((all.arrived & mask) >> lane & 1u) && all.values[lane] != 0)
            bits |= 1u << lane;
    return bits;
}
inline int __all_sync(unsigned int mask, int predicate)
{
    cudann_emu::WarpArrival all = cudann_emu::warp_sync(mask, predicate != 0, "__all_sync");
    for (int lane = 0; lane < warpSize; lane++)
        if (((all.arrived & mask) >> lane & 1u) && all.values[lane] == 0)
            return 0;
    return 1;
}
inline int __any_sync(unsigned int mask, int predicate)
{
    cudann_emu::WarpArrival all = cudann_emu::warp_sync(mask, predicate != 0, "__any_sync");
    for (int lane = 0; lane < warpSize; lane++)
        if (((all.arrived & mask) >> lane & 1u) && all.values[lane] != 0)
            return 1;
    return 0;
}
#define CUDANN_EMU_WARP_REDUCE(name, T, combine)                                                             \
    inline T name(unsigned int mask, T value)                                                                  \
    {                                                                                                          \
        cudann_emu::WarpArrival all = cudann_emu::warp_sync(mask, cudann_emu::to_bits(value), #name);          \
        T result = value;                                                                                      \
        for (int lane = 0; lane < warpSize; lane++)                                                            \
            if ((all.arrived & mask) >> lane & 1u)                                                             \
            {                                                                                                  \
                T other = cudann_emu::from_bits<T>(all.values[lane]);                                          \
                result = lane == cudann_emu::lane_id() ? result : (combine);                                   \
            }                                                                                                  \
        return result;                                                                                         \
    }
CUDANN_EMU_WARP_REDUCE(__reduce_add_sync, int, result + other)
CUDANN_EMU_WARP_REDUCE(__reduce_add_sync, unsigned int, result + other)
CUDANN_EMU_WARP_REDUCE(__reduce_min_sync, int, other < result ? other : result)
CUDANN_EMU_WARP_REDUCE(__reduce_min_sync, unsigned int, other < result ? other : result)
CUDANN_EMU_WARP_REDUCE(__reduce_max_sync, int, other > result ? other : result)
CUDANN_EMU_WARP_REDUCE(__reduce_max_sync, unsigned int, other > result ? other : result)

// Memory fences order nothing on one OS thread; fibers switch only at the calls above.
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}
inline void __nanosleep(unsigned int) {}
inline void __trap() { cudann_emu::fail("__trap() called"); }
// A failed assert fails the launch with the condition's text instead of aborting the whole process.
#ifndef assert
#define assert(condition) ((condition) ? (void)0 : cudann_emu::fail("assertion failed: " #condition))
#endif

// ---- Static shared memory under the access checks ----------------------------------------------------------
// The emulator's build rewrites each block-scope `__shared__ T name[N];` into a slot followed by a red zone and a
// reference to the slot's value (EmulatorSourceFiles.cs), all on the declaration's line; a namespace-scope one keeps
// its declaration and gains a SharedGlobal beside it. Either way the access checks learn where the variable lies.
namespace cudann_emu
{
constexpr size_t kSharedRedZone = 256;

template <class T, size_t Align = alignof(T)> struct alignas(Align < alignof(T) ? alignof(T) : Align) SharedSlot
{
    T value;
    unsigned char red_zone[kSharedRedZone]; // never a variable's: an overrun of up to this many bytes lands here
};

// Tells this launch's access checks where this thread's copy of a static __shared__ variable lies.
CUDANN_EMU_INTERNAL void note_shared(const void* begin, size_t bytes, const char* name);

template <class T, size_t Align> inline T& shared_variable(SharedSlot<T, Align>& slot, const char* name)
{
    note_shared(&slot.value, sizeof(T), name);
    return slot.value;
}

// A namespace-scope __shared__ variable, registered once at load; each launch asks `address` for its copy.
struct CUDANN_EMU_INTERNAL SharedGlobal
{
    SharedGlobal(void* (*address)(), size_t bytes, const char* name);
};
} // namespace cudann_emu

#include "cuda_emulator_math.h"
