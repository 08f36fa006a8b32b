// cuda_emulator_runtime.h: how the generated entry code hands one launch to the scheduler.
#pragma once
#include "cuda_emulator.h"

namespace cudann_emu
{
// One kernel launch: `body(context)` runs the kernel for the thread the scheduler has made current.
struct LaunchRequest
{
    void (*body)(void* context);
    void* context;
    dim3 grid;
    dim3 block;
    unsigned long long dynamic_shared_bytes;
    bool descending; // run warps (and lanes within a warp) last to first
};

enum LaunchStatus { LaunchOk = 0, LaunchInvalid = 1, LaunchKernelError = 2 };

// Runs every block of the grid, one after another; on failure writes a message to `error` (NUL-terminated).
CUDANN_EMU_INTERNAL LaunchStatus run_grid(const LaunchRequest& request, char* error, int error_size);
} // namespace cudann_emu
