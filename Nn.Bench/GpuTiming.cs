using System.Diagnostics;
using CudaNn.Backends.Cuda;
using CudaNn.Cuda;

namespace CudaNn.Bench;

/// <summary>Times work enqueued on a GPU device's stream with a pair of events, synchronizing before the clock is read.</summary>
internal static class GpuTiming
{
    /// <summary>Device milliseconds of one run of <paramref name="enqueue"/>: start event, the work, end event, wait for the end.</summary>
    public static double Milliseconds(CudaDevice device, Action enqueue)
    {
        using IDeviceEvent start = device.Compute.CreateEvent(), end = device.Compute.CreateEvent();
        device.Stream.Synchronize();
        start.Record(device.Stream);
        enqueue();
        end.Record(device.Stream);
        end.Synchronize();
        return end.ElapsedMillisecondsSince(start);
    }

    /// <summary>Runs <paramref name="step"/> at least <paramref name="minimumSteps"/> times and until <paramref name="duration"/> has passed.</summary>
    public static void WarmUp(CudaDevice device, Action step, int minimumSteps, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < minimumSteps || clock.Elapsed < duration; i++) step();
        device.Synchronize();
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
