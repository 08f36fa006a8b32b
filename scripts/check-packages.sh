#!/usr/bin/env bash
# The packages as a .NET developer meets them: packs every package into artifacts/packages, checks that none carries
# an NVIDIA binary and lists their sizes, builds and runs samples/MnistMlp for one epoch against those packages (not
# the projects), and installs the `cudann` tool from them into a temporary tool path and runs `cudann info` and
# `cudann train --epochs 1`. NuGet's cache is a temporary folder, so this run's packages are the ones used.
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

echo "== samples/MnistMlp from the packages, one epoch"
dotnet run --project samples/MnistMlp -c Release -- --epochs 1

echo "== the cudann tool from the packages"
dotnet tool install CudaNn.Cli --version "$version" --tool-path "$work/tools" --add-source artifacts/packages
"$work/tools/cudann" info
(cd "$work" && "$work/tools/cudann" train --epochs 1 --save "$work/mnist-mlp.safetensors")
echo "check-packages: ok"
