using CudaNn.Cuda;

namespace CudaNn.Bench;

/// <summary>Allocates a benchmark's buffers, warms its launch up and times a batch of launches with device events.</summary>
internal sealed class KernelTimer(IComputeDevice device, IDeviceStream stream, int iterations)
{
    /// <summary>Milliseconds per launch of the last <see cref="Bandwidth"/> call.</summary>
    public double LastMilliseconds { get; private set; }

    /// <summary>
    /// Allocates one buffer per entry of <paramref name="bufferBytes"/> (filled with 1.0f, then given to
    /// <paramref name="setup"/>), launches once to warm up and <c>iterations</c> times between two events, frees the
    /// buffers and returns GB/s for <paramref name="bytes"/> moved per launch.
    /// </summary>
    public double Bandwidth(long bytes, long[] bufferBytes, Action<DevicePtr[]>? setup, Action<DevicePtr[]> launch)
    {
        var buffers = new List<DevicePtr>();
        try
        {
            foreach (long size in bufferBytes)
            {
                DevicePtr pointer = device.Allocate(Math.Max(size, 4));
                buffers.Add(pointer);
                device.Memset32(stream, pointer, BitConverter.SingleToUInt32Bits(1.0f), Math.Max(size, 4) / 4);
            }
            DevicePtr[] b = [.. buffers];
            setup?.Invoke(b);
            launch(b);
            using IDeviceEvent start = device.CreateEvent(), end = device.CreateEvent();
            start.Record(stream);
            for (int i = 0; i < iterations; i++)
                launch(b);
            end.Record(stream);
            end.Synchronize();
            LastMilliseconds = end.ElapsedMillisecondsSince(start) / iterations;
            return bytes / (LastMilliseconds * 1e6);
        }
        finally
        {
            stream.Synchronize();
            foreach (DevicePtr pointer in buffers)
                device.Free(pointer);
        }
    }
}
