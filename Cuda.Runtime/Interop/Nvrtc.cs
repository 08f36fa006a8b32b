using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

#pragma warning disable CA1707 // C names kept on purpose
/// <summary>nvrtcResult, values from nvrtc.h of CUDA 12.6 (identical in 11.8 for every value listed).</summary>
internal enum NvrtcResult
{
    NVRTC_SUCCESS = 0,
    NVRTC_ERROR_OUT_OF_MEMORY = 1,
    NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
    NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4,
    NVRTC_ERROR_INVALID_OPTION = 5,
    NVRTC_ERROR_COMPILATION = 6,
    NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
    NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION = 8,
    NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION = 9,
    NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID = 10,
    NVRTC_ERROR_INTERNAL_ERROR = 11,
}
#pragma warning restore CA1707

/// <summary>
/// NVRTC, the runtime CUDA C++ compiler (libnvrtc.so.13 / .12 / .11.2). Signatures follow nvrtc.h of
/// CUDA 12.6; every entry point here exists from 11.2 on (nvrtcGetCUBIN since 11.1). It needs no GPU.
/// nvrtcProgram is an opaque handle (nint); strings are NUL-terminated UTF-8 (byte*).
/// </summary>
internal static unsafe partial class Nvrtc
{
    static Nvrtc() => NativeLibraryResolver.EnsureInstalled();

    [LibraryImport(LibraryNames.Nvrtc)] public static partial byte* nvrtcGetErrorString(NvrtcResult result);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcVersion(out int major, out int minor);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetNumSupportedArchs(out int count);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetSupportedArchs(int* architectures);

    [LibraryImport(LibraryNames.Nvrtc)]
    public static partial NvrtcResult nvrtcCreateProgram(out nint program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcDestroyProgram(ref nint program);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcCompileProgram(nint program, int numOptions, byte** options);

    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetProgramLogSize(nint program, out nuint size);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetProgramLog(nint program, byte* log);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetPTXSize(nint program, out nuint size);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetPTX(nint program, byte* ptx);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetCUBINSize(nint program, out nuint size);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetCUBIN(nint program, byte* cubin);

    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcAddNameExpression(nint program, byte* nameExpression);
    [LibraryImport(LibraryNames.Nvrtc)] public static partial NvrtcResult nvrtcGetLoweredName(nint program, byte* nameExpression, out byte* loweredName);
}
