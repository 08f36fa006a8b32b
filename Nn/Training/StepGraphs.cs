using CudaNn.Backends.Cuda;
using CudaNn.Cuda;

namespace CudaNn.Training;

/// <summary>
/// A training step captured as a CUDA graph once per batch (the x and y tensors a DataLoader fills for one batch
/// size) and replayed. The first step of a batch runs as is and allocates every buffer the step needs at that
/// shape; the second is captured, which allocates nothing; every later one is a single graph launch.
/// </summary>
/// <remarks>
/// A graph holds raw device addresses, so it may be replayed only while every storage it used is still allocated.
/// Layers keep their buffers per shape (<see cref="Nn.ShapeBuffers"/>), the backend's workspace never shrinks and the
/// optimizer's state and hyperparameters never move, so in a normal run nothing a graph uses is freed. When
/// something is (the model moved, a layer dropped a shape, a caller disposed an output), or the GEMMs' precision changes, the device's count of
/// <see cref="CudaDevice.CapturedStateChanges"/> moves on, and every graph is dropped before the next replay and
/// captured again. Values that change between replays (step count, learning rate) are read from device memory.
/// Each replay writes the layers' buffers again, so it hands out again the views the capture wrote: any other view of
/// those buffers a caller kept is overwritten (<see cref="OverwrittenTensorException"/>), as after an eager step.
/// </remarks>
internal sealed class StepGraphs(CudaDevice device) : IDisposable
{
    private readonly Dictionary<(Tensor X, Tensor Y), (IDeviceGraph Graph, List<Tensor> Views)> _graphs = new(BatchComparer.Instance);
    private readonly HashSet<(Tensor X, Tensor Y)> _warm = new(BatchComparer.Instance);
    private long _frees = device.CapturedStateChanges;

    /// <summary>Graphs captured so far, for tests and diagnostics (re-captures included).</summary>
    public int Captures { get; private set; }

    /// <summary>The operations one replay of the latest captured step runs (<see cref="IDeviceGraph.NodeCount"/>); 0 before any capture.</summary>
    public int NodesPerStep { get; private set; }

    /// <summary>
    /// Runs <paramref name="step"/> on the batch (<paramref name="x"/>, <paramref name="y"/>); returns true when it ran
    /// as a replay, in which case the host code of the step did not run (its device work did).
    /// </summary>
    public bool Run(Tensor x, Tensor y, Action step)
    {
        if (device.CapturedStateChanges != _frees) DropAll();
        var batch = (x, y);
        if (_graphs.TryGetValue(batch, out var captured))
        {
            captured.Graph.Launch(device.Stream);
            Nn.ShapeBuffers.HandOutAgain(captured.Views);
            return true;
        }
        if (_warm.Add(batch))
        {
            step();
            return false;
        }
        var views = new List<Tensor>();
        var graph = Capture(step, views);
        _graphs[batch] = (graph, views);
        Captures++;
        NodesPerStep = graph.NodeCount;
        graph.Launch(device.Stream);
        return false;
    }

    /// <summary>
    /// Records one run of <paramref name="step"/>, and in <paramref name="views"/> the layers' views it wrote; an error
    /// inside it is reported as itself, not as the invalidated capture it leaves.
    /// </summary>
    private IDeviceGraph Capture(Action step, List<Tensor> views)
    {
        device.BeginCapture();
        Nn.ShapeBuffers.Record(views);
        try
        {
            step();
        }
        catch (Exception first)
        {
            try
            {
                device.EndCapture().Dispose();
            }
            catch (Exception)
            {
                // CUDA reports the broken capture (CUDA_ERROR_STREAM_CAPTURE_INVALIDATED); the cause is `first`.
            }
            throw new InvalidOperationException(
                $"capturing the training step as a CUDA graph failed: {first.Message} " +
                "(a step must allocate and free nothing once it has run eagerly at this batch size)", first);
        }
        finally
        {
            Nn.ShapeBuffers.StopRecording();
        }
        return device.EndCapture();
    }

    /// <summary>Drops every graph, so each batch runs eagerly once and is captured again (a captured value changed).</summary>
    public void DropAll()
    {
        foreach (var (graph, _) in _graphs.Values) graph.Dispose();
        _graphs.Clear();
        _warm.Clear();
        _frees = device.CapturedStateChanges;
    }

    public void Dispose()
    {
        foreach (var (graph, _) in _graphs.Values) graph.Dispose();
        _graphs.Clear();
    }

    /// <summary>Batches are the same when they are the same tensor objects: a DataLoader makes its views once.</summary>
    private sealed class BatchComparer : IEqualityComparer<(Tensor X, Tensor Y)>
    {
        public static readonly BatchComparer Instance = new();

        public bool Equals((Tensor X, Tensor Y) a, (Tensor X, Tensor Y) b) => ReferenceEquals(a.X, b.X) && ReferenceEquals(a.Y, b.Y);

        public int GetHashCode((Tensor X, Tensor Y) batch) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(batch.X),
                System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(batch.Y));
    }
}
