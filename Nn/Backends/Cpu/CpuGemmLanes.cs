using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CudaNn.Backends.Cpu;

/// <summary>
/// One SIMD register of T, abstracted so the GEMM kernels are written once and the JIT
/// specialises them for 512-, 256- or 128-bit hardware (struct type arguments are compiled per type).
/// </summary>
internal interface ISimdLane<T, TSelf>
    where T : unmanaged
    where TSelf : struct, ISimdLane<T, TSelf>
{
    static abstract int Count { get; }
    static abstract bool IsAccelerated { get; }
    static abstract TSelf Zero { get; }
    static abstract unsafe TSelf Load(T* source);
    static abstract unsafe void Store(TSelf value, T* destination);
    static abstract TSelf Broadcast(T value);
    static abstract TSelf Multiply(TSelf left, TSelf right);

    /// <summary>left * right + addend with one rounding (a hardware FMA).</summary>
    static abstract TSelf MultiplyAdd(TSelf left, TSelf right, TSelf addend);

    static abstract T Sum(TSelf value);
}

internal readonly struct Lane512<T> : ISimdLane<T, Lane512<T>> where T : unmanaged
{
    private readonly Vector512<T> _v;
    private Lane512(Vector512<T> v) => _v = v;

    public static int Count => Vector512<T>.Count;
    public static bool IsAccelerated => Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;
    public static Lane512<T> Zero => new(Vector512<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Lane512<T> Load(T* source) => new(Vector512.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(Lane512<T> value, T* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane512<T> Broadcast(T value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane512<T> Multiply(Lane512<T> left, Lane512<T> right) => new(left._v * right._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Lane512<T> value) => Vector512.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane512<T> MultiplyAdd(Lane512<T> left, Lane512<T> right, Lane512<T> addend)
    {
        // The typeof tests are folded away by the JIT, leaving one vfmadd instruction.
        if (typeof(T) == typeof(float))
            return new(Vector512.FusedMultiplyAdd(left._v.AsSingle(), right._v.AsSingle(), addend._v.AsSingle()).As<float, T>());
        if (typeof(T) == typeof(double))
            return new(Vector512.FusedMultiplyAdd(left._v.AsDouble(), right._v.AsDouble(), addend._v.AsDouble()).As<double, T>());
        return new(left._v * right._v + addend._v);
    }
}

internal readonly struct Lane256<T> : ISimdLane<T, Lane256<T>> where T : unmanaged
{
    private readonly Vector256<T> _v;
    private Lane256(Vector256<T> v) => _v = v;

    public static int Count => Vector256<T>.Count;
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported;
    public static Lane256<T> Zero => new(Vector256<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Lane256<T> Load(T* source) => new(Vector256.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(Lane256<T> value, T* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane256<T> Broadcast(T value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane256<T> Multiply(Lane256<T> left, Lane256<T> right) => new(left._v * right._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Lane256<T> value) => Vector256.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane256<T> MultiplyAdd(Lane256<T> left, Lane256<T> right, Lane256<T> addend)
    {
        if (typeof(T) == typeof(float))
            return new(Vector256.FusedMultiplyAdd(left._v.AsSingle(), right._v.AsSingle(), addend._v.AsSingle()).As<float, T>());
        if (typeof(T) == typeof(double))
            return new(Vector256.FusedMultiplyAdd(left._v.AsDouble(), right._v.AsDouble(), addend._v.AsDouble()).As<double, T>());
        return new(left._v * right._v + addend._v);
    }
}

internal readonly struct Lane128<T> : ISimdLane<T, Lane128<T>> where T : unmanaged
{
    private readonly Vector128<T> _v;
    private Lane128(Vector128<T> v) => _v = v;

    public static int Count => Vector128<T>.Count;
    public static bool IsAccelerated => Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported;
    public static Lane128<T> Zero => new(Vector128<T>.Zero);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Lane128<T> Load(T* source) => new(Vector128.Load(source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(Lane128<T> value, T* destination) => value._v.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane128<T> Broadcast(T value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane128<T> Multiply(Lane128<T> left, Lane128<T> right) => new(left._v * right._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Lane128<T> value) => Vector128.Sum(value._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lane128<T> MultiplyAdd(Lane128<T> left, Lane128<T> right, Lane128<T> addend)
    {
        if (typeof(T) == typeof(float))
            return new(Vector128.FusedMultiplyAdd(left._v.AsSingle(), right._v.AsSingle(), addend._v.AsSingle()).As<float, T>());
        if (typeof(T) == typeof(double))
            return new(Vector128.FusedMultiplyAdd(left._v.AsDouble(), right._v.AsDouble(), addend._v.AsDouble()).As<double, T>());
        return new(left._v * right._v + addend._v);
    }
}
