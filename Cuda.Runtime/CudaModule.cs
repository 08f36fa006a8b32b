using System.Text;
using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// A loaded PTX or CUBIN image (cuModuleLoadDataEx). PTX is JIT-compiled by the driver for the device;
/// when that fails the exception carries the JIT's error log. Kernels are looked up by their
/// <c>extern "C"</c> name.
/// </summary>
internal sealed unsafe class CudaModule : IDisposable
{
    private const int LogBytes = 16 * 1024;
    private readonly ModuleHandle module;

    internal CudaModule(CudaContext context, ReadOnlySpan<byte> image)
    {
        if (image.IsEmpty)
            throw new ArgumentException("The module image is empty.", nameof(image));
        context.MakeCurrent();
        module = new ModuleHandle(context);

        // PTX is text and must end in NUL; a CUBIN (ELF) carries its own length.
        bool isElf = image.Length >= 4 && image[0] == 0x7f && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F';
        byte[] data = isElf || image[^1] == 0 ? image.ToArray() : [.. image, 0];

        byte[] infoLog = new byte[LogBytes];
        byte[] errorLog = new byte[LogBytes];
        CuJitOption* options = stackalloc CuJitOption[4];
        void** values = stackalloc void*[4];
        CuResult status;
        fixed (byte* info = infoLog, error = errorLog, imagePtr = data)
        {
            options[0] = CuJitOption.CU_JIT_INFO_LOG_BUFFER; values[0] = info;
            options[1] = CuJitOption.CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES; values[1] = (void*)LogBytes;
            options[2] = CuJitOption.CU_JIT_ERROR_LOG_BUFFER; values[2] = error;
            options[3] = CuJitOption.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES; values[3] = (void*)LogBytes;
            status = Driver.cuModuleLoadDataEx(out nint raw, imagePtr, 4, options, values);
            if (status == CuResult.CUDA_SUCCESS)
                module.Attach(raw);
        }
        InfoLog = Text(infoLog);
        if (status != CuResult.CUDA_SUCCESS)
        {
            string jitLog = Text(errorLog);
            throw Error(status, nameof(Driver.cuModuleLoadDataEx),
                $"loading a {(isElf ? "CUBIN" : "PTX")} image of {image.Length} bytes{(jitLog.Length > 0 ? ":\n" + jitLog : "")}");
        }
    }

    public CudaContext Context => module.Context;

    /// <summary>What the JIT said while loading (empty for most images).</summary>
    public string InfoLog { get; }

    internal nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(module.IsClosed, this);
            return module.DangerousGetHandle();
        }
    }

    /// <summary>The kernel named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> if the module has none.</summary>
    public CudaKernel GetKernel(string name) =>
        TryGetKernel(name, out CudaKernel? kernel) ? kernel : throw new KeyNotFoundException($"The module has no kernel named '{name}' (is it declared extern \"C\"?).");

    /// <summary>The kernel named <paramref name="name"/>, or false if the module has none.</summary>
    public bool TryGetKernel(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CudaKernel? kernel)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Context.MakeCurrent();
        byte[] utf8 = Encoding.UTF8.GetBytes(name + "\0");
        CuResult status;
        nint function;
        fixed (byte* namePtr = utf8)
            status = Driver.cuModuleGetFunction(out function, Handle, namePtr);
        kernel = null;
        if (status == CuResult.CUDA_ERROR_NOT_FOUND)
            return false;
        Check(status, $"looking up kernel '{name}'");
        kernel = new CudaKernel(this, name, function);
        return true;
    }

    public void Dispose() => module.Dispose();

    private static string Text(byte[] log)
    {
        int end = Array.IndexOf(log, (byte)0);
        return Encoding.UTF8.GetString(log, 0, end < 0 ? log.Length : end).Trim();
    }
}
