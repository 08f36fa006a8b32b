using CudaNn.Cuda.Interop;
using static CudaNn.Cuda.CudaCheck;

namespace CudaNn.Cuda;

/// <summary>
/// One <c>__global__</c> function of a <see cref="CudaModule"/>. Launches take the stream first, then the
/// configuration, then the arguments (cuda.core's order). Valid while its module is loaded.
/// </summary>
internal sealed unsafe class CudaKernel : IDeviceKernel
{
    private readonly CudaModule module;

    internal CudaKernel(CudaModule module, string name, nint handle)
    {
        this.module = module;
        Name = name;
        Handle = handle;
    }

    public string Name { get; }

    internal nint Handle { get; }

    /// <summary>Registers per thread the compiled kernel uses.</summary>
    public int Registers => Attribute(CuFunctionAttribute.CU_FUNC_ATTRIBUTE_NUM_REGS);

    /// <summary>The largest block this kernel can be launched with on this device (fewer than 1024 when registers run short).</summary>
    public int MaxThreadsPerBlock => Attribute(CuFunctionAttribute.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);

    /// <summary>Statically declared shared memory per block, in bytes.</summary>
    public int StaticSharedBytes => Attribute(CuFunctionAttribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);

    /// <summary>Local (stack and spill) memory per thread, in bytes.</summary>
    public int LocalBytes => Attribute(CuFunctionAttribute.CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);

    /// <summary>Allows launches with more than 48 KiB of dynamic shared memory (up to the device's opt-in limit).</summary>
    public void SetMaxDynamicSharedBytes(int bytes)
    {
        module.Context.MakeCurrent();
        Check(Driver.cuFuncSetAttribute(Handle, CuFunctionAttribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
    }

    /// <summary>Enqueues the kernel with packed <paramref name="arguments"/>.</summary>
    public void Launch(CudaStream stream, LaunchConfig config, KernelArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        Launch(stream, config, arguments.Pointers);
    }

    /// <summary>
    /// Enqueues the kernel; <paramref name="argumentPointers"/> is the <c>void**</c> array: one address per
    /// parameter, each pointing at that parameter's value. The driver copies the values before returning.
    /// </summary>
    public void Launch(CudaStream stream, LaunchConfig config, ReadOnlySpan<nint> argumentPointers)
    {
        ArgumentNullException.ThrowIfNull(stream);
        config.Validated();
        module.Context.MakeCurrent();
        fixed (nint* args = argumentPointers)
        {
            Check(Driver.cuLaunchKernel(Handle,
                (uint)config.Grid.X, (uint)config.Grid.Y, (uint)config.Grid.Z,
                (uint)config.Block.X, (uint)config.Block.Y, (uint)config.Block.Z,
                (uint)config.SharedBytes, stream.Handle, argumentPointers.IsEmpty ? null : (void**)args, null),
                $"launching '{Name}' with {config}");
        }
    }

    private int Attribute(CuFunctionAttribute attribute)
    {
        module.Context.MakeCurrent();
        Check(Driver.cuFuncGetAttribute(out int value, attribute, Handle));
        return value;
    }

    public override string ToString() => Name;
}
