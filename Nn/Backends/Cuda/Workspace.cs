using CudaNn.Cuda;

namespace CudaNn.Backends.Cuda;

/// <summary>
/// Scratch device memory for kernels that reduce in two passes, one buffer per use, grown only when a larger
/// size is asked for. A training step asks for the same sizes every time, so after the first step it never
/// allocates (and may be captured into a graph).
/// </summary>
internal sealed class Workspace(IComputeDevice device) : IDisposable
{
    private readonly Dictionary<string, (DevicePtr Pointer, long Bytes)> _buffers = [];

    public DevicePtr Get(string use, long bytes)
    {
        if (bytes <= 0) return DevicePtr.Null;
        if (_buffers.TryGetValue(use, out var buffer) && buffer.Bytes >= bytes) return buffer.Pointer;
        if (!buffer.Pointer.IsNull) device.Free(buffer.Pointer);
        var pointer = device.Allocate(bytes);
        _buffers[use] = (pointer, bytes);
        return pointer;
    }

    public void Dispose()
    {
        foreach (var (pointer, _) in _buffers.Values) device.Free(pointer);
        _buffers.Clear();
    }
}
