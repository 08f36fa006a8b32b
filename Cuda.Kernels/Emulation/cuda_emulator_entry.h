// cuda_emulator_entry.h: the library's exported C interface, and the trampoline that unpacks cuLaunchKernel's
// void** into a kernel's parameters. Included by the generated translation unit after the CUDA source, which
// then defines `entry_points` with one describe("name", &name) per extern "C" __global__ function.
#pragma once
#include "cuda_emulator_runtime.h"

#include <tuple>
#include <utility>

#define CUDANN_EMU_EXPORT extern "C" __attribute__((visibility("default")))

namespace cudann_emu
{
struct EntryPoint
{
    const char* name;
    void (*kernel)();
    LaunchStatus (*launch)(void (*kernel)(), void** arguments, LaunchRequest& request, char* error, int error_size);
    int parameter_count;
    const unsigned long long* parameter_sizes;
};

template <class... A> struct Trampoline
{
    using Kernel = void (*)(A...);
    static_assert((... && !std::is_reference<A>::value), "kernel parameters are passed by value");
    static constexpr unsigned long long sizes[sizeof...(A) + 1] = {sizeof(A)..., 0};

    // The values are copied once per launch, as cuLaunchKernel does; every thread reads the copies.
    struct Frame
    {
        Kernel kernel;
        std::tuple<typename std::decay<A>::type...> values;
    };

    static void body(void* context)
    {
        Frame& frame = *static_cast<Frame*>(context);
        std::apply(frame.kernel, frame.values);
    }

    // memcpy, not a typed load: the caller's value slots need not have the parameter type's alignment.
    template <class T> static T load(const void* slot)
    {
        T value;
        memcpy(static_cast<void*>(&value), slot, sizeof(T));
        return value;
    }

    template <size_t... I>
    static LaunchStatus unpack(Kernel kernel, void** arguments, LaunchRequest& request, char* error, int error_size, std::index_sequence<I...>)
    {
        Frame frame{kernel, {load<typename std::decay<A>::type>(arguments[I])...}};
        request.body = &body;
        request.context = &frame;
        return run_grid(request, error, error_size);
    }

    static LaunchStatus launch(void (*kernel)(), void** arguments, LaunchRequest& request, char* error, int error_size)
    {
        return unpack(reinterpret_cast<Kernel>(kernel), arguments, request, error, error_size, std::index_sequence_for<A...>{});
    }
};

template <class... A> constexpr EntryPoint describe(const char* name, void (*kernel)(A...))
{
    return {name, reinterpret_cast<void (*)()>(kernel), &Trampoline<A...>::launch, (int)sizeof...(A), Trampoline<A...>::sizes};
}

extern const EntryPoint entry_points[];
extern const int entry_point_count;
} // namespace cudann_emu

// ---- Exported interface (read by CudaNn.Kernels.Emulation.EmulatorLibrary) ------------------------------------
CUDANN_EMU_EXPORT int cudann_emu_abi_version() { return 2; }

CUDANN_EMU_EXPORT int cudann_emu_kernel_count() { return cudann_emu::entry_point_count; }

CUDANN_EMU_EXPORT const char* cudann_emu_kernel_name(int index)
{
    return index >= 0 && index < cudann_emu::entry_point_count ? cudann_emu::entry_points[index].name : nullptr;
}

// The byte size of each parameter (up to `capacity` of them); returns how many the kernel has.
CUDANN_EMU_EXPORT int cudann_emu_kernel_parameters(int index, unsigned long long* sizes, int capacity)
{
    if (index < 0 || index >= cudann_emu::entry_point_count)
        return -1;
    const cudann_emu::EntryPoint& entry = cudann_emu::entry_points[index];
    for (int i = 0; i < entry.parameter_count && i < capacity; i++)
        sizes[i] = entry.parameter_sizes[i];
    return entry.parameter_count;
}

// Runs the kernel over the whole grid before returning. 0 on success; otherwise 1 (invalid launch) or
// 2 (the kernel failed: divergent barrier, __trap, a bad warp mask, an access outside its memory) with the reason in
// `error`, and for a refused access its description in `fault`. `memory` null runs without access checks.
CUDANN_EMU_EXPORT int cudann_emu_launch(int index, const unsigned int* grid, const unsigned int* block,
    unsigned long long dynamic_shared_bytes, void** arguments, int descending, const cudann_emu::MemoryMap* memory,
    cudann_emu::MemoryFault* fault, char* error, int error_size)
{
    if (index < 0 || index >= cudann_emu::entry_point_count)
    {
        snprintf(error, (size_t)error_size, "no kernel with index %d", index);
        return cudann_emu::LaunchInvalid;
    }
    const cudann_emu::EntryPoint& entry = cudann_emu::entry_points[index];
    cudann_emu::LaunchRequest request{nullptr, nullptr, dim3(grid[0], grid[1], grid[2]), dim3(block[0], block[1], block[2]),
        dynamic_shared_bytes, descending != 0, memory, fault};
    return entry.launch(entry.kernel, arguments, request, error, error_size);
}
