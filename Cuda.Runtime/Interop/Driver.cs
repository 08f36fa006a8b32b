using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

/// <summary>
/// The CUDA driver API (libcuda.so.1). Signatures follow cuda.h of CUDA 12.6; the driver exports every
/// one of them from 11.8 on. Where cuda.h maps a plain name to a versioned one (#define cuMemAlloc
/// cuMemAlloc_v2, #define cuGraphInstantiate cuGraphInstantiateWithFlags), the versioned export is bound.
/// C types: CUdevice = int, CUdeviceptr = ulong, size_t = nuint, every opaque handle = nint.
/// </summary>
internal static unsafe partial class Driver
{
    static Driver() => NativeLibraryResolver.EnsureInstalled();

    // Initialisation, version, errors.
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuInit(uint flags);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDriverGetVersion(out int driverVersion);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuGetErrorName(CuResult error, out byte* name);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuGetErrorString(CuResult error, out byte* description);

    // Devices.
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDeviceGetCount(out int count);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDeviceGet(out int device, int ordinal);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDeviceGetAttribute(out int value, CuDeviceAttribute attribute, int device);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDeviceTotalMem_v2(out nuint bytes, int device);

    // Primary context.
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDevicePrimaryCtxRetain(out nint context, int device);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuCtxSetCurrent(nint context);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuCtxGetCurrent(out nint context);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuCtxPushCurrent_v2(nint context);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuCtxPopCurrent_v2(out nint context);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuCtxSynchronize();

    // Memory.
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemGetInfo_v2(out nuint free, out nuint total);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemAlloc_v2(out ulong pointer, nuint bytes);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemFree_v2(ulong pointer);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemsetD8_v2(ulong destination, byte value, nuint count);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemsetD32_v2(ulong destination, uint value, nuint count);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemsetD8Async(ulong destination, byte value, nuint count, nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemsetD32Async(ulong destination, uint value, nuint count, nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemcpyDtoD_v2(ulong destination, ulong source, nuint bytes);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemcpyDtoHAsync_v2(void* destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, nint stream);

    // Streams and events.
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuStreamDestroy_v2(nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuStreamSynchronize(nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuStreamWaitEvent(nint stream, nint @event, uint flags);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuEventCreate(out nint @event, uint flags);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuEventDestroy_v2(nint @event);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuEventRecord(nint @event, nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuEventSynchronize(nint @event);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuEventQuery(nint @event);
    // CUDA 13's cuda.h maps cuEventElapsedTime to cuEventElapsedTime_v2 (12.8+); the original export stays
    // in every driver and is the one an 11.8 driver has.
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuEventElapsedTime(out float milliseconds, nint start, nint end);

    // Modules and launches.
    [LibraryImport(LibraryNames.Driver)]
    public static partial CuResult cuModuleLoadDataEx(out nint module, void* image, uint numOptions, CuJitOption* options, void** optionValues);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuModuleUnload(nint module);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuModuleGetFunction(out nint function, nint module, byte* name);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuFuncGetAttribute(out int value, CuFunctionAttribute attribute, nint function);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuFuncSetAttribute(nint function, CuFunctionAttribute attribute, int value);
    [LibraryImport(LibraryNames.Driver)]
    public static partial CuResult cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, nint stream, void** kernelParams, void** extra);

    // Stream capture and graphs.
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuStreamBeginCapture_v2(nint stream, CuStreamCaptureMode mode);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuStreamEndCapture(nint stream, out nint graph);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuGraphInstantiateWithFlags(out nint graphExec, nint graph, ulong flags);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuGraphLaunch(nint graphExec, nint stream);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuGraphGetNodes(nint graph, nint* nodes, ref nuint numNodes);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuGraphExecDestroy(nint graphExec);
    [LibraryImport(LibraryNames.Driver)] public static partial CuResult cuGraphDestroy(nint graph);
}
