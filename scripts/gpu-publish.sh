#!/usr/bin/env bash
# Builds, on a development machine with the .NET SDK, what scripts/gpu-check.sh runs on a GPU machine that has none:
#   .gpu/app/                    CudaNn, Nn.Bench and Nn.Tests.Gpu, framework-dependent Release builds in one folder
#   .gpu/dotnet-runtime.tar.xz   the `dotnet` host, host/fxr and shared/Microsoft.NETCore.App, from this SDK
#   .gpu/COMMIT                  the commit built (for a copy of the tree without .git)
# Three apps sharing one packed runtime (~26 MB) are far smaller than three self-contained single-file publishes
# (~40 MB each), and untrimmed, so NUnit's and the tests' reflection work as under `dotnet test`.
# Usage: scripts/gpu-publish.sh        (then carry .gpu to the GPU machine; it is git-ignored)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=.gpu
rm -rf "$out"
mkdir -p "$out/app"

# Nn.Tests.Gpu first: it also carries the CudaNn files of Nn.Tests' reference, which CudaNn's own publish then overwrites.
for project in Nn.Tests.Gpu Nn.Bench CudaNn; do
    echo "publishing $project"
    dotnet publish "$project" -c Release -r linux-x64 --self-contained false -o "$out/app" -v quiet -nologo
done

# Native and managed payloads that no GPU-check step loads: ONNX Runtime (the export tests), Skia (the tests' PNG decoder),
# BenchmarkDotNet's disassembler, Roslyn toolchain, ETW tracing and Windows symbol reader (Nn.Bench gpu bypasses it).
( cd "$out/app" && rm -rf libonnxruntime*.so libSkiaSharp.so libcapstone.so amd64 \
    Microsoft.CodeAnalysis*.dll Microsoft.Diagnostics.Tracing.TraceEvent.dll TraceReloggerLib.dll Dia2Lib.dll \
    cs de es fr it ja ko pl pt-BR ru tr zh-Hans zh-Hant )

dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
runtime=$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" && $2 ~ /^10\./ { v = $2 } END { print v }')
[ -n "$runtime" ] || { echo "no Microsoft.NETCore.App 10.x runtime under $dotnet_root" >&2; exit 1; }
fxr=$(ls "$dotnet_root/host/fxr" | sort -V | tail -1)
echo "packing the .NET runtime $runtime (host/fxr $fxr) from $dotnet_root"
tar -C "$dotnet_root" -cf - dotnet LICENSE.txt ThirdPartyNotices.txt "host/fxr/$fxr" "shared/Microsoft.NETCore.App/$runtime" \
    | xz -6 -T0 > "$out/dotnet-runtime.tar.xz"

{ git rev-parse HEAD 2>/dev/null || echo unknown; [ -n "$(git status --porcelain 2>/dev/null)" ] && echo "(working tree had uncommitted changes)"; } > "$out/COMMIT" || true
du -sh "$out/app" "$out/dotnet-runtime.tar.xz"
echo "total: $(du -sb "$out" | cut -f1 | awk '{ printf "%.1f MiB", $1 / 1048576 }') in $out (the carry limit is 64 MiB)"
