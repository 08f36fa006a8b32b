// cuda_emulator_math.h: CUDA's math intrinsics, loads, atomics and bit tricks on the host (part of cuda_emulator.h).
// Fast intrinsics (__expf, __fdividef, ...) are computed at full float precision here; the GPU's are less precise,
// so compare kernels with a tolerance, never bitwise, across the emulator and a device.
#pragma once

// ---- min and max: CUDA's overloads pick the common type, as the usual arithmetic conversions do --------------
template <class A, class B, class = typename std::enable_if<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>::type>
inline typename std::common_type<A, B>::type min(A a, B b)
{
    using C = typename std::common_type<A, B>::type;
    if constexpr (std::is_floating_point<C>::value)
        return fmin((C)a, (C)b);
    else
        return (C)b < (C)a ? (C)b : (C)a;
}
template <class A, class B, class = typename std::enable_if<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>::type>
inline typename std::common_type<A, B>::type max(A a, B b)
{
    using C = typename std::common_type<A, B>::type;
    if constexpr (std::is_floating_point<C>::value)
        return fmax((C)a, (C)b);
    else
        return (C)b > (C)a ? (C)b : (C)a;
}

// ---- Float intrinsics ---------------------------------------------------------------------------------------
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __tanhf(float x) { return tanhf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fsub_rn(float x, float y) { return x - y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fdiv_rn(float x, float y) { return x / y; }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); } // NaN gives 0, as on the GPU

// ---- Conversions and reinterpretation -----------------------------------------------------------------------
inline float __int_as_float(int x) { return cudann_emu::from_bits<float>((uint32_t)x); }
inline int __float_as_int(float x) { return (int)(uint32_t)cudann_emu::to_bits(x); }
inline float __uint_as_float(unsigned int x) { return cudann_emu::from_bits<float>(x); }
inline unsigned int __float_as_uint(float x) { return (uint32_t)cudann_emu::to_bits(x); }
inline double __longlong_as_double(long long x) { return cudann_emu::from_bits<double>((uint64_t)x); }
inline long long __double_as_longlong(double x) { return (long long)cudann_emu::to_bits(x); }
inline int __float2int_rn(float x) { return (int)nearbyintf(x); } // the host rounds to nearest even by default
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)floorf(x); }
inline int __float2int_ru(float x) { return (int)ceilf(x); }
inline unsigned int __float2uint_rn(float x) { return (unsigned int)nearbyintf(x); }
inline unsigned int __float2uint_rz(float x) { return (unsigned int)x; }
inline long long __float2ll_rn(float x) { return (long long)nearbyintf(x); }
inline float __int2float_rn(int x) { return (float)x; }
inline float __uint2float_rn(unsigned int x) { return (float)x; }
inline float __ll2float_rn(long long x) { return (float)x; }

// ---- Integer intrinsics -------------------------------------------------------------------------------------
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned int)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x)
{
    unsigned int r = 0;
    for (int i = 0; i < 32; i++, x >>= 1)
        r = (r << 1) | (x & 1u);
    return r;
}
inline int __mul24(int x, int y) { return x * y; }
inline unsigned int __umul24(unsigned int x, unsigned int y) { return x * y; }
inline int __mulhi(int x, int y) { return (int)(((long long)x * y) >> 32); }
inline unsigned int __umulhi(unsigned int x, unsigned int y) { return (unsigned int)(((unsigned long long)x * y) >> 32); }

// ---- Cached and streaming loads/stores: plain memory accesses on the host -----------------------------------
template <class T> inline T __ldg(const T* p) { return *p; }
template <class T> inline T __ldca(const T* p) { return *p; }
template <class T> inline T __ldcg(const T* p) { return *p; }
template <class T> inline T __ldcs(const T* p) { return *p; }
template <class T> inline T __ldlu(const T* p) { return *p; }
template <class T> inline T __ldcv(const T* p) { return *p; }
template <class T> inline void __stwb(T* p, T v) { *p = v; }
template <class T> inline void __stcg(T* p, T v) { *p = v; }
template <class T> inline void __stcs(T* p, T v) { *p = v; }
template <class T> inline void __stwt(T* p, T v) { *p = v; }

// ---- Atomics: fibers never switch inside one, so a plain read-modify-write is atomic here -------------------
namespace cudann_emu
{
template <class T, class F> inline T update(T* address, F next)
{
    T old = *address;
    *address = next(old);
    return old;
}
} // namespace cudann_emu
#define CUDANN_EMU_ATOMIC(name, T, expression)                                                               \
    inline T name(T* address, T val) { return cudann_emu::update(address, [&](T old) { return (T)(expression); }); }
CUDANN_EMU_ATOMIC(atomicAdd, int, old + val)
CUDANN_EMU_ATOMIC(atomicAdd, unsigned int, old + val)
CUDANN_EMU_ATOMIC(atomicAdd, unsigned long long, old + val)
CUDANN_EMU_ATOMIC(atomicAdd, float, old + val)
CUDANN_EMU_ATOMIC(atomicAdd, double, old + val)
CUDANN_EMU_ATOMIC(atomicSub, int, old - val)
CUDANN_EMU_ATOMIC(atomicSub, unsigned int, old - val)
CUDANN_EMU_ATOMIC(atomicExch, int, val)
CUDANN_EMU_ATOMIC(atomicExch, unsigned int, val)
CUDANN_EMU_ATOMIC(atomicExch, unsigned long long, val)
CUDANN_EMU_ATOMIC(atomicExch, float, val)
CUDANN_EMU_ATOMIC(atomicMin, int, val < old ? val : old)
CUDANN_EMU_ATOMIC(atomicMin, unsigned int, val < old ? val : old)
CUDANN_EMU_ATOMIC(atomicMin, long long, val < old ? val : old)
CUDANN_EMU_ATOMIC(atomicMin, unsigned long long, val < old ? val : old)
CUDANN_EMU_ATOMIC(atomicMax, int, val > old ? val : old)
CUDANN_EMU_ATOMIC(atomicMax, unsigned int, val > old ? val : old)
CUDANN_EMU_ATOMIC(atomicMax, long long, val > old ? val : old)
CUDANN_EMU_ATOMIC(atomicMax, unsigned long long, val > old ? val : old)
CUDANN_EMU_ATOMIC(atomicAnd, int, old & val)
CUDANN_EMU_ATOMIC(atomicAnd, unsigned int, old & val)
CUDANN_EMU_ATOMIC(atomicOr, int, old | val)
CUDANN_EMU_ATOMIC(atomicOr, unsigned int, old | val)
CUDANN_EMU_ATOMIC(atomicXor, int, old ^ val)
CUDANN_EMU_ATOMIC(atomicXor, unsigned int, old ^ val)
CUDANN_EMU_ATOMIC(atomicInc, unsigned int, old >= val ? 0u : old + 1u)
CUDANN_EMU_ATOMIC(atomicDec, unsigned int, (old == 0u || old > val) ? val : old - 1u)
#define CUDANN_EMU_ATOMIC_CAS(T)                                                                             \
    inline T atomicCAS(T* address, T compare, T val)                                                           \
    {                                                                                                          \
        return cudann_emu::update(address, [&](T old) { return old == compare ? val : old; });                 \
    }
CUDANN_EMU_ATOMIC_CAS(int)
CUDANN_EMU_ATOMIC_CAS(unsigned int)
CUDANN_EMU_ATOMIC_CAS(unsigned long long)
CUDANN_EMU_ATOMIC_CAS(unsigned short)
// The _block and _system scopes only differ on a GPU.
#define atomicAdd_block atomicAdd
#define atomicAdd_system atomicAdd
#define atomicMax_block atomicMax
#define atomicMin_block atomicMin
