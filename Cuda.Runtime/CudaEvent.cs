using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>A marker in a stream: records when the work before it has finished, for timing and ordering.</summary>
internal sealed class CudaEvent : IDeviceEvent
{
    private readonly EventHandle cudaEvent;

    internal CudaEvent(CudaContext context, bool enableTiming)
    {
        context.MakeCurrent();
        cudaEvent = new EventHandle(context);
        Check(Driver.cuEventCreate(out nint raw, enableTiming ? CuFlags.CU_EVENT_DEFAULT : CuFlags.CU_EVENT_DISABLE_TIMING));
        cudaEvent.Attach(raw);
    }

    internal nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(cudaEvent.IsClosed, this);
            return cudaEvent.DangerousGetHandle();
        }
    }

    /// <summary>Enqueues the event on <paramref name="stream"/>; it completes when the work before it does.</summary>
    public void Record(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        cudaEvent.Context.MakeCurrent();
        Check(Driver.cuEventRecord(Handle, stream.Handle));
    }

    /// <summary>Blocks until the event has completed.</summary>
    public void Synchronize()
    {
        cudaEvent.Context.MakeCurrent();
        Check(Driver.cuEventSynchronize(Handle));
    }

    /// <summary>Whether the work before the event has completed (cuEventQuery: CUDA_SUCCESS or CUDA_ERROR_NOT_READY).</summary>
    public bool IsComplete
    {
        get
        {
            cudaEvent.Context.MakeCurrent();
            CuResult result = Driver.cuEventQuery(Handle);
            if (result == CuResult.CUDA_ERROR_NOT_READY) return false;
            Check(result);
            return true;
        }
    }

    /// <summary>Milliseconds from <paramref name="start"/> to this event (both recorded and completed; ~0.5 µs resolution).</summary>
    public float ElapsedMillisecondsSince(CudaEvent start)
    {
        ArgumentNullException.ThrowIfNull(start);
        cudaEvent.Context.MakeCurrent();
        Check(Driver.cuEventElapsedTime(out float milliseconds, start.Handle, Handle));
        return milliseconds;
    }

    void IDeviceEvent.Record(IDeviceStream stream) => Record(CudaStream.From(stream));

    float IDeviceEvent.ElapsedMillisecondsSince(IDeviceEvent start) => ElapsedMillisecondsSince(From(start));

    public void Dispose() => cudaEvent.Dispose();

    internal static CudaEvent From(IDeviceEvent deviceEvent) =>
        deviceEvent as CudaEvent ?? throw new ArgumentException($"A {deviceEvent?.GetType().Name ?? "null"} event cannot be used with a CUDA device.", nameof(deviceEvent));
}
