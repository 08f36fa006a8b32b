using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// Work captured from a <see cref="CudaStream"/>, instantiated once and replayed with one launch. Kernel
/// arguments are the values they had at capture time: replays read and write the same device addresses.
/// </summary>
internal sealed class CudaGraph : IDeviceGraph
{
    private readonly GraphHandle graph;
    private readonly GraphExecHandle executable;

    internal CudaGraph(GraphHandle graph)
    {
        this.graph = graph;
        executable = new GraphExecHandle(graph.Context);
        graph.Context.MakeCurrent();
        try
        {
            Check(Driver.cuGraphInstantiateWithFlags(out nint raw, graph.DangerousGetHandle(), 0));
            executable.Attach(raw);
        }
        catch
        {
            graph.Dispose();
            throw;
        }
    }

    /// <summary>Enqueues one replay of the whole graph on <paramref name="stream"/>.</summary>
    public void Launch(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(executable.IsClosed, this);
        stream.Context.MakeCurrent();
        Check(Driver.cuGraphLaunch(executable.DangerousGetHandle(), stream.Handle));
    }

    void IDeviceGraph.Launch(IDeviceStream stream) => Launch(CudaStream.From(stream));

    /// <summary>The nodes of the captured graph (cuGraphGetNodes), cuBLAS's own kernels included.</summary>
    public unsafe int NodeCount
    {
        get
        {
            ObjectDisposedException.ThrowIf(graph.IsClosed, this);
            graph.Context.MakeCurrent();
            nuint count = 0;
            Check(Driver.cuGraphGetNodes(graph.DangerousGetHandle(), null, ref count));
            return checked((int)count);
        }
    }

    public void Dispose()
    {
        executable.Dispose();
        graph.Dispose();
    }
}
