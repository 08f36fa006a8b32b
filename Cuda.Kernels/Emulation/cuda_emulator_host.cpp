// cuda_emulator_host.cpp: fiber stacks and switching, and finding this thread's shared memory.
//
// Fibers outlive blocks and launches: one that finished a thread loops back to run the next thread it is given,
// so steady state costs no system calls. _setjmp/_longjmp switch stacks without swapcontext's signal-mask system
// call; ucontext is used only to enter a fresh stack.
#include "cuda_emulator_host.h"

#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <deque>
#include <utility>

namespace cudann_emu
{
namespace host
{
namespace
{
constexpr size_t kStackBytes = 64 * 1024;

struct Fiber
{
    void* stack = nullptr;
    ucontext_t entry;
    jmp_buf resume;
    bool started = false;
};

std::deque<Fiber> fibers; // a deque: a ucontext_t points into itself, so a fiber must never move
int running = -1;
jmp_buf back;
thread_local char tls_anchor; // touching it makes sure this thread's copy of the module's TLS block exists

void fiber_main()
{
    for (;;)
    {
        run_thread();
        yield();
    }
}

bool prepare(Fiber& fiber)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (!fiber.stack)
    {
        void* memory = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (memory == MAP_FAILED)
            return false;
        mprotect(memory, page, PROT_NONE); // a guard page: overflowing a fiber's stack faults instead of corrupting
        fiber.stack = memory;
    }
    getcontext(&fiber.entry);
    fiber.entry.uc_stack.ss_sp = (char*)fiber.stack + page;
    fiber.entry.uc_stack.ss_size = kStackBytes;
    fiber.entry.uc_link = nullptr;
    makecontext(&fiber.entry, fiber_main, 0);
    fiber.started = false;
    return true;
}

int find_tls_block(dl_phdr_info* info, size_t, void* found)
{
    uintptr_t probe = (uintptr_t)&find_tls_block;
    bool mine = false;
    size_t size = 0;
    for (int i = 0; i < info->dlpi_phnum; i++)
    {
        const ElfW(Phdr)& header = info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + header.p_vaddr;
        if (header.p_type == PT_LOAD && probe >= start && probe < start + header.p_memsz)
            mine = true;
        if (header.p_type == PT_TLS)
            size = header.p_memsz;
    }
    if (!mine)
        return 0;
    *(std::pair<void*, size_t>*)found = {info->dlpi_tls_data, size};
    return 1;
}
} // namespace

bool ensure_fibers(int count)
{
    while ((int)fibers.size() < count)
    {
        fibers.emplace_back();
        if (!prepare(fibers.back()))
        {
            fibers.pop_back();
            return false;
        }
    }
    return true;
}

void resume(int index)
{
    running = index;
    if (_setjmp(back))
        return;
    Fiber& fiber = fibers[index];
    if (fiber.started)
        _longjmp(fiber.resume, 1);
    fiber.started = true;
    // setcontext installs the saved signal mask; save this thread's own first so entering changes nothing.
    pthread_sigmask(SIG_BLOCK, nullptr, &fiber.entry.uc_sigmask);
    setcontext(&fiber.entry);
}

void yield()
{
    if (!_setjmp(fibers[running].resume))
        _longjmp(back, 1);
}

int current() { return running; }

void reset(int index) { prepare(fibers[index]); }

void* shared_memory(size_t* bytes)
{
    volatile char* anchor = &tls_anchor;
    *anchor = 0;
    std::pair<void*, size_t> found{nullptr, 0};
    dl_iterate_phdr(find_tls_block, &found);
    *bytes = found.second;
    return found.first;
}
} // namespace host
} // namespace cudann_emu
