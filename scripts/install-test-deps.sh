#!/usr/bin/env bash
# Installs what the tests need beyond the .NET SDK: NVRTC 11.8 from Debian's non-free component
# (compiles kernels.cu to PTX and CUBIN with no GPU), g++ (builds the host kernel emulator) and the
# DejaVu fonts (text in the plots `train --plot` and `playground` draw).
set -euo pipefail

# grep must read all of ldconfig's output: `grep -q` exits at the first match, ldconfig then dies of SIGPIPE, and
# pipefail turns that 141 into a failed check at random.
have_nvrtc() { ldconfig -p 2>/dev/null | grep 'libnvrtc\.so' >/dev/null; }
have_fonts() { [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; }
have_mpi() { command -v mpirun >/dev/null && ldconfig -p 2>/dev/null | grep 'libmpi\.so\.40' >/dev/null; }
if have_nvrtc && command -v g++ >/dev/null && have_fonts && have_mpi; then exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E bash "$0" "$@"; fi
  echo "install-test-deps: need root to apt-get install libnvrtc11.2, g++, fonts-dejavu-core and openmpi-bin" >&2
  exit 1
fi

sources=/etc/apt/sources.list.d/debian.sources
if [ -f "$sources" ] && ! grep -q 'non-free' "$sources"; then
  sed -i 's/^Components: main$/Components: main contrib non-free/' "$sources"
elif [ -f /etc/apt/sources.list ] && ! grep -q 'non-free' /etc/apt/sources.list; then
  sed -i -E 's/^(deb .* main)$/\1 contrib non-free/' /etc/apt/sources.list
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends libnvrtc11.2 g++ fonts-dejavu-core openmpi-bin
have_nvrtc || { echo "install-test-deps: libnvrtc still not found after installing libnvrtc11.2" >&2; exit 1; }
have_mpi || { echo "install-test-deps: mpirun or libmpi.so.40 still not found after installing openmpi-bin" >&2; exit 1; }
