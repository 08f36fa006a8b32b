namespace CudaNn.Cuda;

/// <summary>
/// A CUDA driver, NVRTC or cuBLAS call returned an error status. The message reads
/// "<c>{api} failed: {code name} ({NVIDIA's description}){detail}</c>", e.g.
/// "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory) while allocating 2.0 GiB; 1.1 GiB free of 80.0 GiB".
/// </summary>
public sealed class CudaException : Exception
{
    public CudaException(string apiName, int statusCode, string statusName, string description, string? detail = null)
        : base(Format(apiName, statusName, description, detail))
    {
        ApiName = apiName;
        StatusCode = statusCode;
        StatusName = statusName;
        Description = description;
    }

    /// <summary>The entry point that failed, e.g. "cuMemAlloc_v2".</summary>
    public string ApiName { get; }

    /// <summary>The numeric status (CUresult, nvrtcResult or cublasStatus_t).</summary>
    public int StatusCode { get; }

    /// <summary>The status's C name, e.g. "CUDA_ERROR_OUT_OF_MEMORY".</summary>
    public string StatusName { get; }

    /// <summary>NVIDIA's description of the status, e.g. "out of memory".</summary>
    public string Description { get; }

    internal static string Format(string apiName, string statusName, string description, string? detail) =>
        $"{apiName} failed: {statusName} ({description}){(string.IsNullOrEmpty(detail) ? "" : " " + detail)}";
}

/// <summary>
/// CUDA cannot be used here at all (no driver library, no device, a driver too old); the message is the
/// precise reason, the same text <see cref="CudaGpu.TryGet(out CudaGpu?, out string?)"/> gives.
/// </summary>
public sealed class CudaUnavailableException(string reason) : InvalidOperationException(reason)
{
    /// <summary>Why CUDA (or the named library) is unavailable.</summary>
    public string Reason { get; } = reason;
}
