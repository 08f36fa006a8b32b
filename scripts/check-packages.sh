#!/usr/bin/env bash
# The packages as a .NET developer meets them: packs every package into artifacts/packages, checks that none carries
# an NVIDIA binary and lists their sizes, follows the README's "Use it in your project" word for word in a new folder
# outside the repository (its commands, its nuget.config, its first C# block as Program.cs, run with no environment
# variables), builds and runs samples/MnistMlp for one epoch against the packages (not the projects), and installs the
# `cudann` tool from them into a temporary tool path and runs `cudann info` and `cudann train --epochs 1`. NuGet's
# cache is a temporary folder, so this run's packages are the ones used.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NUGET_PACKAGES=$work/nuget-cache DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

rm -rf artifacts/packages
dotnet pack CudaNn.sln -c Release -v quiet -nologo
version=$(sed -nE 's|.*<Version>([^<]+)</Version>.*|\1|p' Directory.Build.props | head -1)

echo "== packages (version $version)"
bad=0
for package in artifacts/packages/*.nupkg; do
    printf '%-45s %8.2f MB\n' "$(basename "$package")" "$(stat -c %s "$package" | awk '{ print $1 / 1048576 }')"
    if python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$package" \
        | grep -iE '(^|/)(libcuda\.so|libcudart|libnvrtc|libcublas|libnccl|nvcuda|cudart64|nvrtc64|nvrtc-builtins|cublas64|cublaslt64|nccl)[^/]*$' \
        > "$work/nvidia.txt"; then
        echo "  carries NVIDIA binaries: $(paste -sd' ' "$work/nvidia.txt")"
        bad=1
    fi
done
[ "$bad" = 0 ] || { echo "check-packages: a package carries NVIDIA binaries" >&2; exit 1; }
# docs/packages.md promises a tool under 5 MB on every platform.
for package in artifacts/packages/CudaNn.Cli.*-*.nupkg; do
    [ "$(stat -c %s "$package")" -le $((5 * 1048576)) ] || { echo "check-packages: $(basename "$package") is over 5 MB" >&2; exit 1; }
done

# The fenced block after the README line "<!-- check-packages: NAME -->", and the README's first C# block.
readme_block() {
    awk -v marker="<!-- check-packages: $1 -->" '$0 == marker { found = 1; next } found && /^```/ { if (inside) exit; inside = 1; next } inside { print }' "$root/README.md"
}
first_csharp_block() { awk '/^```csharp/ { inside = 1; next } inside && /^```/ { exit } inside { print }' "$root/README.md"; }
for name in "new project" "nuget.config" "add package"; do
    [ -n "$(readme_block "$name")" ] || { echo "check-packages: README has no block marked '$name'" >&2; exit 1; }
done

echo "== the README's steps, word for word, in $work"
(
    cd "$work"
    eval "$(readme_block "new project")"
    readme_block "nuget.config" | sed "s|/path/to/cudann|$root|" > nuget.config
    eval "$(readme_block "add package")"
    first_csharp_block > Program.cs
    env -u CUDANN_DATA dotnet run -c Release
)
echo "the README's example ran"

echo "== samples/MnistMlp from the packages, one epoch"
dotnet run --project samples/MnistMlp -c Release -- --epochs 1

echo "== the cudann tool from the packages"
dotnet tool install CudaNn.Cli --version "$version" --tool-path "$work/tools" --add-source artifacts/packages
"$work/tools/cudann" info
(cd "$work" && "$work/tools/cudann" train --epochs 1 --save "$work/mnist-mlp.safetensors")
echo "check-packages: ok"
