using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// A CUDA stream: work enqueued on it runs in order. Created blocking (CU_STREAM_DEFAULT), so the synchronous
/// copies of <see cref="DeviceBuffer{T}"/> wait for it. Can record its work into a <see cref="CudaGraph"/>.
/// </summary>
internal sealed class CudaStream : IDeviceStream
{
    private readonly StreamHandle stream;

    internal CudaStream(CudaContext context)
    {
        context.MakeCurrent();
        stream = new StreamHandle(context);
        Check(Driver.cuStreamCreate(out nint raw, CuFlags.CU_STREAM_DEFAULT));
        stream.Attach(raw);
    }

    public CudaContext Context => stream.Context;

    public bool IsDisposed => stream.IsClosed;

    /// <summary>True between <see cref="BeginCapture"/> and <see cref="EndCapture"/>.</summary>
    public bool IsCapturing { get; private set; }

    internal nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(stream.IsClosed, this);
            return stream.DangerousGetHandle();
        }
    }

    /// <summary>Blocks until all work enqueued so far has finished.</summary>
    public void Synchronize()
    {
        Context.MakeCurrent();
        Check(Driver.cuStreamSynchronize(Handle));
    }

    /// <summary>Makes later work on this stream wait until <paramref name="cudaEvent"/> has completed.</summary>
    public void Wait(CudaEvent cudaEvent)
    {
        ArgumentNullException.ThrowIfNull(cudaEvent);
        Context.MakeCurrent();
        Check(Driver.cuStreamWaitEvent(Handle, cudaEvent.Handle, 0));
    }

    /// <summary>
    /// Starts recording: work enqueued on this stream is captured into a graph instead of running.
    /// Thread-local mode: only this thread is barred from unsafe calls (synchronous copies, allocation) meanwhile.
    /// </summary>
    public void BeginCapture()
    {
        if (IsCapturing)
            throw new InvalidOperationException("This stream is already capturing; call EndCapture first.");
        Context.MakeCurrent();
        Check(Driver.cuStreamBeginCapture_v2(Handle, CuStreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
        IsCapturing = true;
    }

    /// <summary>Stops recording and instantiates what was captured as a replayable graph.</summary>
    public CudaGraph EndCapture()
    {
        if (!IsCapturing)
            throw new InvalidOperationException("EndCapture called on a stream that is not capturing.");
        Context.MakeCurrent();
        IsCapturing = false;
        var graph = new GraphHandle(Context);
        Check(Driver.cuStreamEndCapture(Handle, out nint rawGraph));
        graph.Attach(rawGraph);
        return new CudaGraph(graph);
    }

    void IDeviceStream.Wait(IDeviceEvent deviceEvent) => Wait(CudaEvent.From(deviceEvent));

    IDeviceGraph IDeviceStream.EndCapture() => EndCapture();

    public void Dispose() => stream.Dispose();

    internal static CudaStream From(IDeviceStream stream) =>
        stream as CudaStream ?? throw new ArgumentException($"A {stream?.GetType().Name ?? "null"} stream cannot be used with a CUDA device.", nameof(stream));
}
