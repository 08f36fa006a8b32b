// cuda_emulator_host.h: the host mechanics the scheduler stands on: fibers, and where shared memory lives.
#pragma once
#include <stddef.h>

namespace cudann_emu
{
namespace host
{
// Makes sure fibers 0..count-1 exist; false when their stacks cannot be mapped.
bool ensure_fibers(int count);

// Runs fiber `index` until it yields or finishes a thread. A fresh fiber (or one that finished its last thread)
// starts `run_thread`, which the scheduler defines: it runs the kernel for the current thread.
void resume(int index);

// From inside a fiber: back to the resume() that ran it.
void yield();

// The fiber most recently resumed.
int current();

// Forgets what fiber `index` was in the middle of (after a failed launch): its next resume starts afresh.
void reset(int index);

// This OS thread's copy of the module's TLS block, which holds every __shared__ variable and nothing else.
void* shared_memory(size_t* bytes);
} // namespace host

void run_thread(); // defined by the scheduler
} // namespace cudann_emu
