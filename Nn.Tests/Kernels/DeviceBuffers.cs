using CudaNn.Cuda;

namespace CudaNn.Tests.Kernels;

/// <summary>
/// Device buffers for one test run, freed together. Each can be placed one element past a 16-byte boundary
/// (<c>misaligned</c>), so the kernels' scalar head and unaligned fallbacks run; outputs start as NaN.
/// </summary>
internal sealed class DeviceBuffers(IComputeDevice device, IDeviceStream stream) : IDisposable
{
    private readonly List<DevicePtr> allocations = [];

    /// <summary>Uploads <paramref name="values"/>, one float past an aligned address when <paramref name="misaligned"/>.</summary>
    public DevicePtr Floats(float[] values, bool misaligned = false)
    {
        DevicePtr pointer = Allocate((values.Length + 1) * sizeof(float), misaligned ? sizeof(float) : 0);
        device.Upload<float>(pointer, values);
        return pointer;
    }

    public DevicePtr Ints(int[] values, bool misaligned = false)
    {
        DevicePtr pointer = Allocate((values.Length + 1) * sizeof(int), misaligned ? sizeof(int) : 0);
        device.Upload<int>(pointer, values);
        return pointer;
    }

    /// <summary>Uploads float64 values (an optimizer's hyperparameters), 8-byte aligned.</summary>
    public DevicePtr Doubles(double[] values)
    {
        DevicePtr pointer = Allocate(values.Length * sizeof(double), 0);
        device.Upload<double>(pointer, values);
        return pointer;
    }

    /// <summary>Uploads bytes, <paramref name="offset"/> bytes past an aligned address.</summary>
    public DevicePtr Bytes(byte[] values, int offset = 0)
    {
        DevicePtr pointer = Allocate(values.Length + 16, offset);
        device.Upload<byte>(pointer, values);
        return pointer;
    }

    /// <summary><paramref name="count"/> floats, all NaN, so an element never written shows in the result.</summary>
    public DevicePtr Poisoned(int count, bool misaligned = false)
    {
        DevicePtr pointer = Allocate((count + 1) * sizeof(float), misaligned ? sizeof(float) : 0);
        device.Memset32(stream, pointer, BitConverter.SingleToUInt32Bits(float.NaN), count);
        return pointer;
    }

    /// <summary>Uninitialised scratch of <paramref name="bytes"/> bytes (null for 0), 256-byte aligned.</summary>
    public DevicePtr Workspace(long bytes) => bytes == 0 ? DevicePtr.Null : Allocate(bytes, 0);

    public float[] Read(DevicePtr pointer, int count)
    {
        stream.Synchronize();
        float[] values = new float[count];
        device.Download<float>(values, pointer);
        return values;
    }

    /// <summary>Int32 results as floats with the same bits, so runs compare bit for bit alongside float outputs.</summary>
    public float[] ReadIntBits(DevicePtr pointer, int count)
    {
        stream.Synchronize();
        int[] values = new int[count];
        device.Download<int>(values, pointer);
        return values.Select(BitConverter.Int32BitsToSingle).ToArray();
    }

    private DevicePtr Allocate(long bytes, int offset)
    {
        DevicePtr start = device.Allocate(bytes + offset);
        allocations.Add(start);
        return start.Offset(offset);
    }

    public void Dispose()
    {
        stream.Synchronize();
        foreach (DevicePtr pointer in allocations)
            device.Free(pointer);
    }
}
