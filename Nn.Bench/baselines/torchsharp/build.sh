#!/usr/bin/env bash
# Builds the libtorch peer (TorchSharp 0.107 on libtorch 2.10 CPU) and makes its native library load on Debian 12:
# the build output's copy of libLibTorchSharp.so gets its GLIBCXX_3.4.32 requirement marked weak (weaken_glibcxx.py
# says why). Prints the path of the peer's dll last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dotnet build "$here/TorchSharpMlp.csproj" -c Release -v quiet -nologo > /dev/null
out=$here/bin/Release/net10.0
python3 "$here/weaken_glibcxx.py" "$out/runtimes/linux-x64/native/libLibTorchSharp.so" >&2
echo "$out/TorchSharpMlp.dll"
