// cuda_emulator_check.cpp: the bounds check behind every load and store a kernel makes on the host emulator.
//
// The kernel source is compiled with g++'s -fsanitize=kernel-address and every check outlined, so each access
// calls __asan_load4_noabort(address) and its kin before it happens; this unit (compiled without instrumentation)
// defines them. No AddressSanitizer runtime and no shadow memory are involved: the check asks the launch's
// memory map directly.
// - Device memory lives in one reserved address range (the arena, HostMemory.cs). An access there must lie wholly
//   inside one live allocation; gaps between allocations, freed allocations and the space past the last are faults.
// - Shared memory is the module's TLS block. An access there must lie inside one static __shared__ variable (each
//   followed by a red zone, see cuda_emulator.h) or inside the dynamic shared bytes the launch asked for.
// - Anything else is host memory a kernel may touch: its fiber's stack, its parameter copies, the module's globals.
// A fault stops the launch before the access happens (cudann_emu::fail), so the process stays usable.
#include "cuda_emulator_runtime.h"

#include <stdio.h>
#include <string>
#include <vector>

// Defined by the generated unit that every extern __shared__ array aliases (EmulatorSourceFiles.cs).
extern "C" thread_local unsigned char cudann_emu_dynamic_shared[];

namespace cudann_emu
{
namespace
{
struct SharedVariable
{
    uintptr_t begin, end;
    const char* name;
};

struct GlobalShared
{
    void* (*address)();
    size_t bytes;
    const char* name;
};

struct Checks
{
    const MemoryMap* memory = nullptr; // null: this launch is not checked
    MemoryFault* fault = nullptr;
    uintptr_t shared_begin = 0, shared_end = 0;   // the TLS block
    uintptr_t dynamic_begin = 0, dynamic_end = 0; // the bytes of it this launch's dynamic shared memory may use
    long long last_hit = 0;                       // the allocation the previous access hit: most hit it again
    std::vector<SharedVariable> shared;           // this thread's copies of the static __shared__ variables
};

Checks c;

std::vector<GlobalShared>& global_shared()
{
    static std::vector<GlobalShared> all; // filled by constructors at load, whatever their order
    return all;
}

bool inside_allocation(uintptr_t address, size_t bytes)
{
    const MemoryMap& map = *c.memory;
    if (map.live_count == 0)
        return false;
    const MemoryRange* hit = &map.live[c.last_hit];
    if (address >= hit->begin && address + bytes <= hit->end)
        return true;
    long long low = 0, high = map.live_count - 1, found = -1;
    while (low <= high)
    {
        long long middle = (low + high) / 2;
        if (map.live[middle].begin <= address)
        {
            found = middle;
            low = middle + 1;
        }
        else
            high = middle - 1;
    }
    if (found < 0 || address + bytes > map.live[found].end)
        return false;
    c.last_hit = found;
    return true;
}

bool inside_shared_variable(uintptr_t address, size_t bytes)
{
    if (address >= c.dynamic_begin && address + bytes <= c.dynamic_end)
        return true;
    for (const SharedVariable& v : c.shared)
        if (address >= v.begin && address + bytes <= v.end)
            return true;
    return false;
}

// "4 bytes past the end of" / "8 bytes before the start of" / "running 2 bytes past the end of" [begin, end).
std::string relation(uintptr_t address, size_t bytes, uintptr_t begin, uintptr_t end)
{
    char text[96];
    if (address >= end)
        snprintf(text, sizeof text, "%lu bytes past the end of", (unsigned long)(address - end));
    else if (address < begin)
        snprintf(text, sizeof text, "%lu bytes before the start of", (unsigned long)(begin - address));
    else
        snprintf(text, sizeof text, "running %lu bytes past the end of", (unsigned long)(address + bytes - end));
    return text;
}

// Which shared memory the access was nearest: the variable (or dynamic region) starting closest below it.
std::string describe_shared(uintptr_t address, size_t bytes)
{
    char text[256];
    const SharedVariable* nearest = nullptr;
    for (const SharedVariable& v : c.shared)
        if (v.begin <= address && (!nearest || v.begin > nearest->begin))
            nearest = &v;
    bool dynamic = c.dynamic_begin <= address && (!nearest || c.dynamic_begin > nearest->begin);
    if (dynamic)
        snprintf(text, sizeof text, "%s the %lu bytes of dynamic shared memory the launch asked for",
            relation(address, bytes, c.dynamic_begin, c.dynamic_end).c_str(), (unsigned long)(c.dynamic_end - c.dynamic_begin));
    else if (nearest)
        snprintf(text, sizeof text, "%s the %lu-byte __shared__ variable '%s'", relation(address, bytes, nearest->begin, nearest->end).c_str(),
            (unsigned long)(nearest->end - nearest->begin), nearest->name);
    else
        snprintf(text, sizeof text, "outside every __shared__ variable");
    return text;
}

[[noreturn]] void report(uintptr_t address, size_t bytes, bool write, MemoryFault::Space space)
{
    if (c.fault)
        *c.fault = MemoryFault{address, bytes, write ? 1 : 0, space};
    char message[512];
    int length = snprintf(message, sizeof message, "invalid %s of %zu byte%s at 0x%lx in %s memory", write ? "write" : "read", bytes,
        bytes == 1 ? "" : "s", (unsigned long)address, space == MemoryFault::Shared ? "shared" : "device");
    if (space == MemoryFault::Shared)
        snprintf(message + length, sizeof message - (size_t)length, ": %s", describe_shared(address, bytes).c_str());
    fail(message);
}

inline void check(uintptr_t address, size_t bytes, bool write)
{
    if (!c.memory)
        return;
    if (address - c.memory->arena_begin < c.memory->arena_end - c.memory->arena_begin)
    {
        if (!inside_allocation(address, bytes))
            report(address, bytes, write, MemoryFault::Device);
    }
    else if (address - c.shared_begin < c.shared_end - c.shared_begin)
    {
        if (!inside_shared_variable(address, bytes))
            report(address, bytes, write, MemoryFault::Shared);
    }
}
} // namespace

void note_shared(const void* begin, size_t bytes, const char* name)
{
    if (!c.memory)
        return;
    uintptr_t start = (uintptr_t)begin;
    for (const SharedVariable& v : c.shared)
        if (v.begin == start)
            return;
    c.shared.push_back({start, start + bytes, name});
}

SharedGlobal::SharedGlobal(void* (*address)(), size_t bytes, const char* name) { global_shared().push_back({address, bytes, name}); }

void begin_checks(const LaunchRequest& request, void* shared, size_t shared_bytes)
{
    c.memory = request.memory;
    c.fault = request.fault;
    c.last_hit = 0;
    c.shared.clear();
    if (!c.memory)
        return;
    c.shared_begin = (uintptr_t)shared;
    c.shared_end = c.shared_begin + shared_bytes;
    c.dynamic_begin = (uintptr_t)&cudann_emu_dynamic_shared[0];
    c.dynamic_end = c.dynamic_begin + request.dynamic_shared_bytes;
    for (const GlobalShared& g : global_shared())
        note_shared(g.address(), g.bytes, g.name);
}

void end_checks()
{
    c.memory = nullptr;
    c.fault = nullptr;
}
} // namespace cudann_emu

// ---- The calls g++ places before each access (-fsanitize=kernel-address, outlined) -----------------------------
#define CUDANN_EMU_ACCESS_CHECKS(size)                                                                         \
    extern "C" CUDANN_EMU_INTERNAL void __asan_load##size##_noabort(uintptr_t address)                         \
    {                                                                                                          \
        cudann_emu::check(address, size, false);                                                               \
    }                                                                                                          \
    extern "C" CUDANN_EMU_INTERNAL void __asan_store##size##_noabort(uintptr_t address)                        \
    {                                                                                                          \
        cudann_emu::check(address, size, true);                                                                \
    }
CUDANN_EMU_ACCESS_CHECKS(1)
CUDANN_EMU_ACCESS_CHECKS(2)
CUDANN_EMU_ACCESS_CHECKS(4)
CUDANN_EMU_ACCESS_CHECKS(8)
CUDANN_EMU_ACCESS_CHECKS(16)

extern "C" CUDANN_EMU_INTERNAL void __asan_loadN_noabort(uintptr_t address, size_t bytes) { cudann_emu::check(address, bytes, false); }
extern "C" CUDANN_EMU_INTERNAL void __asan_storeN_noabort(uintptr_t address, size_t bytes) { cudann_emu::check(address, bytes, true); }
// Called before a noreturn call; there is no shadow memory to unpoison.
extern "C" CUDANN_EMU_INTERNAL void __asan_handle_no_return() {}
// Bracket the dynamic initialisers of a unit's globals, for the sanitizer's init-order checking: nothing to do here.
extern "C" CUDANN_EMU_INTERNAL void __asan_before_dynamic_init(const char*) {}
extern "C" CUDANN_EMU_INTERNAL void __asan_after_dynamic_init() {}
