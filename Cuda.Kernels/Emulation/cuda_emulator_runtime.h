// cuda_emulator_runtime.h: how the generated entry code hands one launch to the scheduler.
#pragma once
#include "cuda_emulator.h"

#include <stddef.h>

namespace cudann_emu
{
// The device memory a launch may touch (HostMemory.cs keeps it): the arena every allocation is placed in, and the
// live allocations, sorted by address. Laid out as HostMemory's MemoryMap and MemoryRange.
struct MemoryRange
{
    uintptr_t begin, end;
};
struct MemoryMap
{
    uintptr_t arena_begin, arena_end;
    const MemoryRange* live;
    long long live_count;
};

// The first access a launch's checks refused (cuda_emulator_check.cpp); read by EmulatorLibrary.cs.
struct MemoryFault
{
    enum Space { Device = 1, Shared = 2 };
    uintptr_t address;
    unsigned long long bytes;
    int write;
    int space;
};

// One kernel launch: `body(context)` runs the kernel for the thread the scheduler has made current.
struct LaunchRequest
{
    void (*body)(void* context);
    void* context;
    dim3 grid;
    dim3 block;
    unsigned long long dynamic_shared_bytes;
    bool descending; // run warps (and lanes within a warp) last to first
    const MemoryMap* memory; // null: loads and stores are not checked
    MemoryFault* fault;      // where a refused access is described
};

enum LaunchStatus { LaunchOk = 0, LaunchInvalid = 1, LaunchKernelError = 2 };

// Runs every block of the grid, one after another; on failure writes a message to `error` (NUL-terminated).
CUDANN_EMU_INTERNAL LaunchStatus run_grid(const LaunchRequest& request, char* error, int error_size);

// Arms the access checks for one launch, whose shared memory is [shared, shared + shared_bytes); end_checks disarms.
CUDANN_EMU_INTERNAL void begin_checks(const LaunchRequest& request, void* shared, size_t shared_bytes);
CUDANN_EMU_INTERNAL void end_checks();
} // namespace cudann_emu
