using CudaNn.Cuda;

namespace CudaNn.Backends.Cuda;

/// <summary>
/// Scratch device memory for kernels that reduce in two passes, one buffer per use, grown only when a larger
/// size is asked for. A training step asks for the same sizes every time, so after the first step it never
/// allocates (and may be captured into a graph). A buffer outgrown is kept, not freed, until the backend goes:
/// a graph captured with it may still be replayed (training at batch 64 after evaluation grew it for batch 1,000).
/// </summary>
internal sealed class Workspace(IComputeDevice device) : IDisposable
{
    private readonly Dictionary<string, (DevicePtr Pointer, long Bytes)> _buffers = [];
    private readonly List<DevicePtr> _outgrown = [];

    public DevicePtr Get(string use, long bytes)
    {
        if (bytes <= 0) return DevicePtr.Null;
        if (_buffers.TryGetValue(use, out var buffer) && buffer.Bytes >= bytes) return buffer.Pointer;
        var pointer = device.Allocate(bytes, $"workspace '{use}'");
        if (!buffer.Pointer.IsNull) _outgrown.Add(buffer.Pointer);
        _buffers[use] = (pointer, bytes);
        return pointer;
    }

    public void Dispose()
    {
        foreach (var (pointer, _) in _buffers.Values) device.Free(pointer);
        foreach (var pointer in _outgrown) device.Free(pointer);
        _buffers.Clear();
        _outgrown.Clear();
    }
}
