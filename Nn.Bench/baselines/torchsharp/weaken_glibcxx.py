#!/usr/bin/env python3
"""Marks one version requirement of an ELF shared library weak, in place.

TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++ and so requires GLIBCXX_3.4.32, but the
only symbol it takes from that version is the marker `std::ios_base_library_init()`, which it never calls. Debian 12's
libstdc++ stops at GLIBCXX_3.4.30, so the loader refuses the library. A weak version requirement (VER_FLG_WEAK in its
Vernaux entry of .gnu.version_r) is one the loader does not insist on. Run on the build-output copy, never the NuGet
cache:   python3 weaken_glibcxx.py PATH/libLibTorchSharp.so [GLIBCXX_3.4.32]
"""
import struct
import sys

VER_FLG_WEAK = 0x2
SHT_GNU_VERNEED = 0x6FFFFFFE


def weaken(path, version):
    with open(path, "rb") as f:
        elf = bytearray(f.read())
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise SystemExit(f"{path}: not a little-endian 64-bit ELF file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    changed = 0
    for (_, kind, _, _, offset, _, link, info, _, _) in sections:
        if kind != SHT_GNU_VERNEED:
            continue
        strings = sections[link][4]
        need = offset
        for _ in range(info):
            _, count, _, aux, following = struct.unpack_from("<HHIII", elf, need)
            entry = need + aux
            for _ in range(count):
                _, flags, _, name, following_aux = struct.unpack_from("<IHHII", elf, entry)
                end = elf.index(b"\0", strings + name)
                if elf[strings + name:end].decode() == version and not flags & VER_FLG_WEAK:
                    struct.pack_into("<H", elf, entry + 4, flags | VER_FLG_WEAK)
                    changed += 1
                entry += following_aux
            need += following
    if changed == 0:
        print(f"{path}: no strong requirement of {version}; nothing changed")
        return
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(elf)
    import os
    os.chmod(temporary, os.stat(path).st_mode)
    os.replace(temporary, path)
    print(f"{path}: {version} is now a weak requirement ({changed} entry)")


if __name__ == "__main__":
    weaken(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "GLIBCXX_3.4.32")
