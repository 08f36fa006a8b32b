using CudaNn.Backends.Cuda;
using CudaNn.Cuda;

namespace CudaNn.Training;

/// <summary>
/// A training step captured once per batch size as a CUDA graph and replayed: the first step of a size runs
/// as is (it also allocates every buffer the step needs), the second is captured and launched, and every
/// later one is a single graph launch. The step's kernels read their arguments from fixed buffers, which is
/// what makes a frozen graph correct: the batch is gathered into the same x and y each time, and the
/// optimizer's step count lives on the device.
/// </summary>
internal sealed class StepGraphs(GpuDevice device) : IDisposable
{
    private readonly Dictionary<int, IDeviceGraph> _graphs = [];
    private readonly HashSet<int> _warm = [];

    /// <summary>
    /// Runs <paramref name="step"/> for a batch of <paramref name="batchSize"/>; returns true when it ran as a replay,
    /// in which case the host code of the step did not run (its device work did).
    /// </summary>
    public bool Run(int batchSize, Action step)
    {
        if (_graphs.TryGetValue(batchSize, out var graph))
        {
            graph.Launch(device.Stream);
            return true;
        }
        if (_warm.Add(batchSize))
        {
            step();
            return false;
        }
        device.Stream.BeginCapture();
        try
        {
            step();
        }
        finally
        {
            graph = device.Stream.EndCapture();
        }
        _graphs[batchSize] = graph;
        graph.Launch(device.Stream);
        return false;
    }

    public void Dispose()
    {
        foreach (var graph in _graphs.Values) graph.Dispose();
        _graphs.Clear();
    }
}
