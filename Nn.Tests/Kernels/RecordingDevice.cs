using CudaNn.Cuda;
using System.Runtime.InteropServices;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// A device that runs nothing: it knows every kernel name and records each launch (kernel, config and the
/// argument values, one 8-byte slot each) so launcher tests can check what would reach cuLaunchKernel.
/// </summary>
internal sealed class RecordingDevice : IComputeDevice
{
    public sealed record Kernel(string Name) : IDeviceKernel;

    public sealed record Launched(string Kernel, LaunchConfig Config, ulong[] Slots)
    {
        public int Int(int index) => (int)(uint)Slots[index];
        public long Long(int index) => (long)Slots[index];
        public double Double(int index) => BitConverter.UInt64BitsToDouble(Slots[index]);
        public float Float(int index) => BitConverter.UInt32BitsToSingle((uint)Slots[index]);
        public DevicePtr Pointer(int index) => new(Slots[index]);
    }

    public List<string> Resolved { get; } = [];
    public List<Launched> Launches { get; } = [];

    public string Name => "recording device";
    public long MemoryInUse => 0;
    public long L2CacheBytes => 0;

    public IDeviceKernel GetKernel(string name)
    {
        Resolved.Add(name);
        return new Kernel(name);
    }

    public void Launch(IDeviceStream stream, IDeviceKernel kernel, LaunchConfig config, ReadOnlySpan<nint> arguments)
    {
        var slots = new ulong[arguments.Length];
        for (int i = 0; i < arguments.Length; i++)
            slots[i] = (ulong)Marshal.ReadInt64(arguments[i]);
        Launches.Add(new Launched(kernel.Name, config, slots));
    }

    public IDeviceStream CreateStream() => new Stream();

    public DevicePtr Allocate(long bytes) => throw new NotSupportedException();
    public void EnqueueHostAccess(IDeviceStream stream, DevicePtr buffer, long bytes, Action<nint> work) => throw new NotSupportedException();
    public Precision GemmPrecision { get; set; }
    public void Free(DevicePtr pointer) => throw new NotSupportedException();
    public void CopyHostToDevice(DevicePtr destination, ReadOnlySpan<byte> source) => throw new NotSupportedException();
    public void CopyDeviceToHost(Span<byte> destination, DevicePtr source) => throw new NotSupportedException();
    public void CopyDeviceToDevice(IDeviceStream stream, DevicePtr destination, DevicePtr source, long bytes) => throw new NotSupportedException();
    public void Memset(IDeviceStream stream, DevicePtr destination, byte value, long bytes) => throw new NotSupportedException();
    public void Memset32(IDeviceStream stream, DevicePtr destination, uint value, long count) => throw new NotSupportedException();

    public void Sgemm(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda,
        DevicePtr b, int ldb, float beta, DevicePtr c, int ldc) => throw new NotSupportedException();

    public void SgemmEpilogue(IDeviceStream stream, GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda,
        DevicePtr b, int ldb, float beta, DevicePtr c, int ldc, GemmEpilogue epilogue, DevicePtr bias, DevicePtr reluMask, int reluMaskLd) =>
        throw new NotSupportedException();

    public IDeviceEvent CreateEvent() => throw new NotSupportedException();
    public void Synchronize() { }
    public void Dispose() { }

    private sealed class Stream : IDeviceStream
    {
        public void Synchronize() { }
        public void Wait(IDeviceEvent deviceEvent) { }
        public void BeginCapture() => throw new NotSupportedException();
        public IDeviceGraph EndCapture() => throw new NotSupportedException();
        public void Dispose() { }
    }
}
