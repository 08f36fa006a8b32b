// cuda_emulator_runtime.cpp: runs a grid on the host, one fiber per CUDA thread, all on the calling OS thread.
//
// Order is fixed, so two runs give the same bits: blocks one after another (x fastest); within a block,
// warp-greedy: each warp runs as far as it can (its lanes in order, each to its next yield; warp-synchronous calls
// release once every live lane they name has arrived) until its lanes wait at __syncthreads or are done; then the
// next warp. When every live thread waits at the same __syncthreads the barrier releases; when nothing can move
// the launch fails with "divergent barrier". A missing __syncthreads then reads poisoned shared memory.
#include "cuda_emulator_runtime.h"

#include "cuda_emulator_host.h"

#include <stdarg.h>
#include <string.h>
#include <string>
#include <vector>

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace cudann_emu
{
namespace
{
enum class State { Runnable, AtBarrier, AtWarpSync, Done, Failed };

struct Thread
{
    uint3 index;
    State state;
    unsigned int mask; // AtWarpSync: the lanes the call names
    const char* operation;
    const char* file; // AtBarrier: which __syncthreads
    int line;
    BarrierKind kind;
    int predicate;
    int result;
};

struct Warp
{
    int first, count;
    uint32_t generation;
    // Double-buffered by generation parity, so a lane publishing into exchange g+1 never overwrites what a
    // slower lane is still to read from exchange g.
    uint64_t values[2][32];
    unsigned int published[2];
};

struct Scheduler
{
    LaunchRequest request;
    std::vector<Thread> threads;
    std::vector<Warp> warps;
    std::string error;
};

Scheduler g;

std::string format(const char* pattern, ...)
{
    char buffer[1024];
    va_list args;
    va_start(args, pattern);
    vsnprintf(buffer, sizeof buffer, pattern, args);
    va_end(args);
    return buffer;
}

Thread& current_thread() { return g.threads[host::current()]; }

void resume(int t)
{
    threadIdx = g.threads[t].index;
    host::resume(t);
}

// ---- The block scheduler ------------------------------------------------------------------------------------
bool failed() { return !g.error.empty(); }

bool release_warp_sync(Warp& warp)
{
    unsigned int live = 0, waiting = 0, wanted = 0;
    for (int lane = 0; lane < warp.count; lane++)
    {
        const Thread& t = g.threads[warp.first + lane];
        if (t.state != State::Done)
            live |= 1u << lane;
        if (t.state == State::AtWarpSync)
        {
            waiting |= 1u << lane;
            wanted |= t.mask;
        }
    }
    if (waiting == 0 || (wanted & live & ~waiting) != 0)
        return false;
    for (int lane = 0; lane < warp.count; lane++)
        if (waiting >> lane & 1u)
            g.threads[warp.first + lane].state = State::Runnable;
    warp.generation++;
    warp.published[warp.generation & 1] = 0;
    return true;
}

void run_warp(Warp& warp, bool descending)
{
    do
    {
        for (int i = 0; i < warp.count; i++)
        {
            int t = warp.first + (descending ? warp.count - 1 - i : i);
            if (g.threads[t].state == State::Runnable)
                resume(t);
            if (failed())
                return;
        }
    } while (release_warp_sync(warp));
}

std::string describe_deadlock()
{
    int at_barrier = 0, at_warp = 0, done = 0;
    const Thread *barrier = nullptr, *warp = nullptr;
    for (const Thread& t : g.threads)
    {
        if (t.state == State::AtBarrier) { at_barrier++; barrier = barrier ? barrier : &t; }
        if (t.state == State::AtWarpSync) { at_warp++; warp = warp ? warp : &t; }
        if (t.state == State::Done) done++;
    }
    std::string text = format("divergent barrier in block (%u,%u,%u): %d thread(s) wait at __syncthreads", blockIdx.x, blockIdx.y, blockIdx.z, at_barrier);
    if (barrier)
        text += format(" (%s:%d)", barrier->file, barrier->line);
    text += format(", %d wait at a warp-synchronous call", at_warp);
    if (warp)
        text += format(" (%s, mask 0x%08x, thread (%u,%u,%u)) for lanes that never arrive", warp->operation, warp->mask, warp->index.x, warp->index.y, warp->index.z);
    return text + format(", %d exited", done);
}

// All live threads wait at a barrier: check it is the same one, hand each its result, let them go.
void release_barrier()
{
    const Thread* first = nullptr;
    int count = 0, arrived = 0;
    for (const Thread& t : g.threads)
    {
        if (t.state != State::AtBarrier)
            continue;
        if (!first)
            first = &t;
        else if (t.line != first->line || strcmp(t.file, first->file) != 0)
        {
            g.error = format("divergent barrier in block (%u,%u,%u): thread (%u,%u,%u) waits at __syncthreads %s:%d, thread (%u,%u,%u) at %s:%d",
                blockIdx.x, blockIdx.y, blockIdx.z, first->index.x, first->index.y, first->index.z, first->file, first->line,
                t.index.x, t.index.y, t.index.z, t.file, t.line);
            return;
        }
        arrived++;
        count += t.predicate;
    }
    for (Thread& t : g.threads)
    {
        if (t.state != State::AtBarrier)
            continue;
        t.result = t.kind == BarrierAnd ? count == arrived : t.kind == BarrierOr ? count > 0 : count;
        t.state = State::Runnable;
    }
}

void run_block(void* shared, size_t shared_bytes)
{
    memset(shared, 0xff, shared_bytes); // NaN as float, -1 as int: reading shared memory before writing it shows
    for (size_t t = 0; t < g.threads.size(); t++)
        g.threads[t].state = State::Runnable;
    for (Warp& warp : g.warps)
    {
        warp.generation = 0;
        warp.published[0] = warp.published[1] = 0;
    }
    for (;;)
    {
        int n = (int)g.warps.size();
        for (int i = 0; i < n; i++)
        {
            run_warp(g.warps[g.request.descending ? n - 1 - i : i], g.request.descending);
            if (failed())
                return;
        }
        int live = 0, at_barrier = 0;
        for (const Thread& t : g.threads)
        {
            live += t.state != State::Done;
            at_barrier += t.state == State::AtBarrier;
        }
        if (live == 0)
            return;
        // Warps only wait on each other at __syncthreads, so after every warp has run as far as it can,
        // either all live threads are there or nothing will ever move again.
        if (at_barrier != live)
        {
            g.error = describe_deadlock();
            return;
        }
        release_barrier();
        if (failed())
            return;
    }
}

bool set_up_block(const dim3& block)
{
    int count = (int)(block.x * block.y * block.z);
    g.threads.assign(count, Thread{});
    for (int t = 0; t < count; t++)
        g.threads[t].index = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
    g.warps.clear();
    for (int first = 0; first < count; first += warpSize)
        g.warps.push_back(Warp{first, count - first < warpSize ? count - first : warpSize, 0, {}, {0, 0}});
    return host::ensure_fibers(count);
}

LaunchStatus invalid(char* error, int size, const std::string& message)
{
    snprintf(error, (size_t)size, "%s", message.c_str());
    return LaunchInvalid;
}
} // namespace

void run_thread()
{
    g.request.body(g.request.context);
    current_thread().state = State::Done;
}

// ---- Calls made from inside a fiber -------------------------------------------------------------------------
WarpArrival warp_sync(unsigned int mask, uint64_t value, const char* operation)
{
    Thread& t = current_thread();
    int lane = host::current() % warpSize;
    Warp& warp = g.warps[host::current() / warpSize];
    if (!(mask >> lane & 1u))
        fail(format("%s called by lane %d with mask 0x%08x, which does not name the calling lane", operation, lane, mask).c_str());
    int parity = warp.generation & 1;
    warp.values[parity][lane] = value;
    warp.published[parity] |= 1u << lane;
    t.state = State::AtWarpSync;
    t.mask = mask;
    t.operation = operation;
    host::yield();
    return {warp.values[parity], warp.published[parity]};
}

int block_sync(BarrierKind kind, int predicate, const char* file, int line)
{
    Thread& t = current_thread();
    t.state = State::AtBarrier;
    t.kind = kind;
    t.predicate = predicate;
    t.file = file;
    t.line = line;
    host::yield();
    return t.result;
}

unsigned int active_mask()
{
    const Warp& warp = g.warps[host::current() / warpSize];
    unsigned int mask = 0;
    for (int lane = 0; lane < warp.count; lane++)
        if (g.threads[warp.first + lane].state != State::Done)
            mask |= 1u << lane;
    return mask;
}

void fail(const char* message)
{
    Thread& t = current_thread();
    g.error = format("thread (%u,%u,%u) of block (%u,%u,%u): %s", t.index.x, t.index.y, t.index.z, blockIdx.x, blockIdx.y, blockIdx.z, message);
    t.state = State::Failed;
    host::yield();
    __builtin_unreachable(); // the scheduler never resumes a failed fiber
}

LaunchStatus run_grid(const LaunchRequest& request, char* error, int error_size)
{
    const dim3 &grid = request.grid, &block = request.block;
    if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.y > 65535 || grid.z > 65535)
        return invalid(error, error_size, format("grid (%u,%u,%u) is invalid", grid.x, grid.y, grid.z));
    if (block.x < 1 || block.y < 1 || block.z < 1 || block.z > 64 || (unsigned long long)block.x * block.y * block.z > 1024)
        return invalid(error, error_size, format("block (%u,%u,%u) is invalid: at most 1024 threads, z at most 64", block.x, block.y, block.z));
    if (request.dynamic_shared_bytes > CUDANN_EMU_DYNAMIC_SHARED_BYTES)
        return invalid(error, error_size, format("%llu bytes of dynamic shared memory requested; a launch gets at most %d",
            request.dynamic_shared_bytes, CUDANN_EMU_DYNAMIC_SHARED_BYTES));

    g.request = request;
    g.error.clear();
    gridDim = grid;
    blockDim = block;
    if (!set_up_block(block))
        return invalid(error, error_size, "could not map the fiber stacks for a block of this size");
    size_t shared_bytes = 0;
    void* shared = host::shared_memory(&shared_bytes);
    begin_checks(request, shared, shared_bytes);
    for (unsigned int z = 0; z < grid.z && !failed(); z++)
        for (unsigned int y = 0; y < grid.y && !failed(); y++)
            for (unsigned int x = 0; x < grid.x && !failed(); x++)
            {
                blockIdx = {x, y, z};
                run_block(shared, shared_bytes);
            }
    end_checks();
    if (!failed())
        return LaunchOk;
    // Fibers abandoned mid-kernel must start afresh next time.
    for (size_t t = 0; t < g.threads.size(); t++)
        if (g.threads[t].state != State::Done)
            host::reset((int)t);
    snprintf(error, (size_t)error_size, "%s", g.error.c_str());
    return LaunchKernelError;
}
} // namespace cudann_emu
