using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CudaNn.Cuda.Interop;

namespace CudaNn.Cuda;

/// <summary>
/// The one way a status code is checked: <c>Check(Driver.cuMemFree_v2(p))</c> throws a
/// <see cref="CudaException"/> naming the entry point (taken from the call expression), the status's C
/// name and NVIDIA's description. A detail written as an interpolated string, <c>Check(..., $"for m={m}")</c>, is
/// formatted only when the call failed (<see cref="FailureDetail"/>), so the GEMMs of an eager step allocate nothing.
/// </summary>
internal static unsafe class CudaCheck
{
    public static void Check(CuResult status, string? detail = null, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != CuResult.CUDA_SUCCESS)
            throw Error(status, ApiName(call), detail);
    }

    public static void Check(CuResult status, [InterpolatedStringHandlerArgument(nameof(status))] ref FailureDetail detail,
        [CallerArgumentExpression(nameof(status))] string call = "") => Check(status, detail.ToStringAndClear(), call);

    public static void Check(NvrtcResult status, string? detail = null, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != NvrtcResult.NVRTC_SUCCESS)
            throw Error(status, ApiName(call), detail);
    }

    public static void Check(CublasStatus status, string? detail = null, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != CublasStatus.CUBLAS_STATUS_SUCCESS)
            throw Error(status, ApiName(call), detail);
    }

    public static void Check(CublasStatus status, [InterpolatedStringHandlerArgument(nameof(status))] ref FailureDetail detail,
        [CallerArgumentExpression(nameof(status))] string call = "") => Check(status, detail.ToStringAndClear(), call);

    public static CudaException Error(CuResult status, string apiName, string? detail = null)
    {
        // Both lookups work before cuInit; they fail only for codes this driver does not know.
        string name = Lookup(() => Driver.cuGetErrorName(status, out byte* text) == CuResult.CUDA_SUCCESS ? (nint)text : 0) ?? status.ToString();
        string description = Lookup(() => Driver.cuGetErrorString(status, out byte* text) == CuResult.CUDA_SUCCESS ? (nint)text : 0) ?? "unknown error";
        return new CudaException(apiName, (int)status, name, description, detail);
    }

    public static CudaException Error(NvrtcResult status, string apiName, string? detail = null)
    {
        // nvrtcGetErrorString returns the C name only, so the description is spelled out from it.
        string name = Lookup(() => (nint)Nvrtc.nvrtcGetErrorString(status)) ?? status.ToString();
        string description = name.Replace("NVRTC_ERROR_", "", StringComparison.Ordinal).Replace('_', ' ').ToLowerInvariant();
        return new CudaException(apiName, (int)status, name, description, detail);
    }

    public static CudaException Error(CublasStatus status, string apiName, string? detail = null)
    {
        string name = Lookup(() => (nint)Cublas.cublasGetStatusName(status)) ?? status.ToString();
        string description = Lookup(() => (nint)Cublas.cublasGetStatusString(status)) ?? "cuBLAS error";
        return new CudaException(apiName, (int)status, name, description, detail);
    }

    // A message must never fail for want of the library's own text (not loaded, or too old to export it).
    private static string? Lookup(Func<nint> text)
    {
        try
        {
            nint pointer = text();
            return pointer == 0 ? null : Marshal.PtrToStringUTF8(pointer);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>"Driver.cuMemAlloc_v2(out ulong p, bytes)" → "cuMemAlloc_v2".</summary>
    public static string ApiName(string callExpression)
    {
        int open = callExpression.IndexOf('(');
        string callee = open >= 0 ? callExpression[..open] : callExpression;
        int dot = callee.LastIndexOf('.');
        return (dot >= 0 ? callee[(dot + 1)..] : callee).Trim();
    }
}

/// <summary>
/// The detail of a <see cref="CudaCheck.Check(CublasStatus, ref FailureDetail, string)"/>: the compiler skips its holes,
/// and so their formatting, unless the status is a failure.
/// </summary>
[InterpolatedStringHandler]
internal ref struct FailureDetail
{
    private DefaultInterpolatedStringHandler _text;
    private readonly bool _failed;

    public FailureDetail(int literalLength, int formattedCount, CuResult status, out bool shouldAppend)
        : this(literalLength, formattedCount, status != CuResult.CUDA_SUCCESS, out shouldAppend)
    {
    }

    public FailureDetail(int literalLength, int formattedCount, CublasStatus status, out bool shouldAppend)
        : this(literalLength, formattedCount, status != CublasStatus.CUBLAS_STATUS_SUCCESS, out shouldAppend)
    {
    }

    private FailureDetail(int literalLength, int formattedCount, bool failed, out bool shouldAppend)
    {
        _failed = shouldAppend = failed;
        _text = failed ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    public void AppendLiteral(string value) => _text.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

    public void AppendFormatted<T>(T value, string? format) => _text.AppendFormatted(value, format);

    /// <summary>The text on a failure; null on success, when nothing was formatted.</summary>
    public string? ToStringAndClear() => _failed ? _text.ToStringAndClear() : null;
}
