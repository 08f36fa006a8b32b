using System.Diagnostics;
using CudaNn.Cuda;

namespace CudaNn.Kernels.Emulation;

/// <summary>
/// A stream of the emulated device. Work runs at once, in call order, so every ordering rule of the seam holds
/// trivially; while capturing, work is recorded instead and runs on each launch of the resulting graph.
/// </summary>
internal sealed class EmulatedStream(EmulatedComputeDevice device) : IDeviceStream
{
    private List<Action>? recording;
    private bool disposed;

    public EmulatedComputeDevice Device { get; } = device;

    public bool IsCapturing => recording is not null;

    /// <summary>Runs <paramref name="work"/> now, or records it while capturing.</summary>
    public void Run(Action work)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (recording is not null)
            recording.Add(work);
        else
            work();
    }

    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (IsCapturing)
            throw new InvalidOperationException("Synchronize is not allowed on a stream that is capturing; call EndCapture first.");
    }

    public void Wait(IDeviceEvent deviceEvent)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        EmulatedEvent.From(deviceEvent, Device);
    }

    public void BeginCapture()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (IsCapturing)
            throw new InvalidOperationException("This stream is already capturing; call EndCapture first.");
        recording = [];
        Device.CaptureStarted();
    }

    public IDeviceGraph EndCapture()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        List<Action> work = recording ?? throw new InvalidOperationException("EndCapture without BeginCapture on this stream.");
        recording = null;
        Device.CaptureEnded();
        return new EmulatedGraph(Device, work.ToArray());
    }

    public void Dispose()
    {
        if (disposed)
            return;
        if (IsCapturing)
            Device.CaptureEnded();
        recording = null;
        disposed = true;
    }

    public static EmulatedStream From(IDeviceStream stream, EmulatedComputeDevice device) =>
        stream is EmulatedStream emulated && emulated.Device == device
            ? emulated
            : throw new ArgumentException("The stream was not created by this emulated device.", nameof(stream));
}

/// <summary>An event of the emulated device: the host time at which the work before it finished.</summary>
internal sealed class EmulatedEvent(EmulatedComputeDevice device) : IDeviceEvent
{
    private long? timestamp;

    public EmulatedComputeDevice Device { get; } = device;

    public void Record(IDeviceStream stream) => EmulatedStream.From(stream, Device).Run(() => timestamp = Stopwatch.GetTimestamp());

    public void Synchronize()
    {
    }

    /// <summary>Emulated streams run their work as it is enqueued, so a recorded event is complete at once.</summary>
    public bool IsComplete => true;

    public float ElapsedMillisecondsSince(IDeviceEvent start)
    {
        long begin = From(start, Device).timestamp ?? throw new InvalidOperationException("The start event has not been recorded.");
        long end = timestamp ?? throw new InvalidOperationException("This event has not been recorded.");
        return (float)Stopwatch.GetElapsedTime(begin, end).TotalMilliseconds;
    }

    public void Dispose()
    {
    }

    public static EmulatedEvent From(IDeviceEvent deviceEvent, EmulatedComputeDevice device) =>
        deviceEvent is EmulatedEvent emulated && emulated.Device == device
            ? emulated
            : throw new ArgumentException("The event was not created by this emulated device.", nameof(deviceEvent));
}

/// <summary>Recorded stream work; each launch runs it again, reading device memory as it is at that moment.</summary>
internal sealed class EmulatedGraph(EmulatedComputeDevice device, Action[] work) : IDeviceGraph
{
    private bool disposed;

    public int NodeCount => work.Length;

    public void Launch(IDeviceStream stream)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        EmulatedStream.From(stream, device).Run(() =>
        {
            foreach (Action step in work)
                step();
        });
    }

    public void Dispose() => disposed = true;
}
