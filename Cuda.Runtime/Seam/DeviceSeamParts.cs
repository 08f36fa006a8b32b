namespace CudaNn.Cuda;

/// <summary>An ordered queue of device work (see <see cref="IComputeDevice"/> for the ordering rules).</summary>
public interface IDeviceStream : IDisposable
{
    /// <summary>Blocks until everything enqueued on this stream so far has finished.</summary>
    void Synchronize();

    /// <summary>Later work on this stream waits until <paramref name="deviceEvent"/> has completed.</summary>
    void Wait(IDeviceEvent deviceEvent);

    /// <summary>Starts recording: work enqueued on this stream from now on is recorded into a graph instead of running.</summary>
    void BeginCapture();

    /// <summary>
    /// Stops recording and returns the recorded work as a graph ready to launch. Kernel arguments and sizes are
    /// frozen at their captured values; every launch reads and writes the same device addresses.
    /// </summary>
    IDeviceGraph EndCapture();
}

/// <summary>A marker enqueued on a stream; it completes when the work before it has.</summary>
public interface IDeviceEvent : IDisposable
{
    /// <summary>Enqueues this event on <paramref name="stream"/>.</summary>
    void Record(IDeviceStream stream);

    /// <summary>Blocks until the event has completed.</summary>
    void Synchronize();

    /// <summary>Whether the work before the event has completed, without waiting (cuEventQuery), so a caller can wait with a deadline.</summary>
    bool IsComplete { get; }

    /// <summary>Milliseconds between <paramref name="start"/> and this event, both recorded and completed.</summary>
    float ElapsedMillisecondsSince(IDeviceEvent start);
}

/// <summary>Recorded stream work that can be replayed as one unit.</summary>
public interface IDeviceGraph : IDisposable
{
    /// <summary>Enqueues one replay of the recorded work on <paramref name="stream"/>.</summary>
    void Launch(IDeviceStream stream);

    /// <summary>
    /// The operations a replay runs: on a GPU the graph's nodes (kernels, copies, memsets, cuBLAS's own kernels
    /// included); on the emulator each recorded operation (a GEMM is one).
    /// </summary>
    int NodeCount { get; }
}

/// <summary>A kernel found by name on a device.</summary>
public interface IDeviceKernel
{
    /// <summary>The kernel's <c>extern "C"</c> name, e.g. "relu_forward".</summary>
    string Name { get; }
}
