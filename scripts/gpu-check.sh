#!/usr/bin/env bash
# The GPU check: runs CudaNn on this machine's GPU without a .NET SDK (from .gpu/, made by scripts/gpu-publish.sh) and
# writes one markdown report, OUTDIR/report.md; prints a short summary table last.
#   scripts/gpu-check.sh OUTDIR             info, verify (layer by layer, fused, GEMM epilogues, TF32, BF16), GPU tests, compute-sanitizer
#                                           where it works, the seed train (5 epochs, empty kernel cache, --plan auto), trains at
#                                           the odd batch 96 and at 1,024, PyTorch, `cudann bench` beside it, ncu, torch.compile
#   scripts/gpu-check.sh OUTDIR --emulator  the same flow on the host emulator (short trains, PyTorch on the CPU): checks the script
# Every step has its own time limit and the whole run a budget (GPU_CHECK_BUDGET seconds, default 300); a failed or
# timed-out step is marked and the others still run. The card's settings are never touched.
set -uo pipefail
out=${1:?usage: scripts/gpu-check.sh OUTDIR [--emulator]}
emulator=false
[ "${2:-}" = "--emulator" ] && emulator=true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p "$out"
out=$(cd "$out" && pwd)
report=$out/report.md
budget=${GPU_CHECK_BUDGET:-300}
started=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CUDANN_CACHE_DIR=$tmp/cache DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
device=cuda
$emulator && device=emulator
summary=$tmp/summary.md
sections=$tmp/sections.md
: > "$summary"
: > "$sections"

elapsed() { echo $(( $(date +%s) - started )); }
since() { awk -v now="$(date +%s.%N)" -v t0="$1" 'BEGIN { printf "%.2f", now - t0 }'; }
failures=0

# run_step TITLE LIMIT_S COMMAND...: runs with a time limit (cut to what the budget has left), keeps the output for the
# report, shows its last lines, and sets $step_rc (124: timed out, 125: skipped for lack of time) and $step_log.
step_no=0
run_step() {
    local title=$1 limit=$2
    shift 2
    step_no=$((step_no + 1))
    step_log=$tmp/step$step_no.log
    local left=$(( budget - $(elapsed) - 10 ))
    [ "$limit" -gt "$left" ] && limit=$left
    echo
    echo "=== $title (limit ${limit}s, $(elapsed)s into the run)"
    if [ "$limit" -lt 15 ]; then
        echo "skipped: out of time (budget ${budget}s)" > "$step_log"
        step_rc=125
    else
        local t0=$(date +%s.%N)
        timeout -k 10 "$limit" "$@" > "$step_log" 2>&1
        step_rc=$?
        step_seconds=$(since "$t0")
    fi
    tail -n 12 "$step_log" | cut -c1-220
    local status="ok"
    [ "$step_rc" = 0 ] || failures=$((failures + 1))
    case $step_rc in 0) ;; 124|137) status="TIMED OUT after ${limit}s" ;; 125) status="skipped (out of time)" ;; *) status="FAILED (exit $step_rc)" ;; esac
    echo "--- $title: $status"
    {
        echo "## $title"
        echo
        echo "\`$*\` — $status, ${step_seconds:-0} s"
        echo
        if grep -q '^|' "$step_log"; then cat "$step_log"; else echo '```'; cat "$step_log"; echo '```'; fi
        echo
    } >> "$sections"
    step_seconds=0
    write_report
}

add_summary() { echo "| $1 | $2 |" >> "$summary"; }

write_report() {
    {
        echo "# GPU check: $card, $(date -u +%Y-%m-%d)"
        echo
        echo "- card: $card; driver: $driver; device: $device"
        echo "- commit: $commit"
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); run time so far: $(elapsed) s of a ${budget} s budget"
        echo
        echo "## Summary"
        echo
        echo "| check | result |"
        echo "|---|---|"
        cat "$summary"
        echo
        [ -s "$tmp/side-by-side.md" ] && cat "$tmp/side-by-side.md"
        echo "## Environment"
        echo
        echo '```'
        cat "$tmp/environment.txt"
        echo '```'
        echo
        cat "$sections"
    } > "$report.tmp" && mv "$report.tmp" "$report"
}

# --- environment facts, first -------------------------------------------------------------------------------------
# The commit the apps in .gpu were built from: the checkout's HEAD there may be another one.
commit=$(head -1 .gpu/COMMIT 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)
card=$(timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
driver=$(timeout 20 nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
[ -n "$card" ] || card="no GPU"
$emulator && card="$card (emulator run)"
[ -n "$driver" ] || driver="none"
python=""
for p in python3 /usr/bin/python3 python; do
    if command -v "$p" > /dev/null && timeout 60 "$p" -c 'import torch' 2> /dev/null; then python=$p; break; fi
done
{
    echo "\$ nvidia-smi -L"; timeout 20 nvidia-smi -L 2>&1 || echo "(nvidia-smi unavailable)"
    echo "\$ nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap"
    timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || true
    echo "\$ nvcc --version | tail -1"; timeout 20 nvcc --version 2>&1 | tail -1 || true
    echo "\$ compute-sanitizer --version | tail -1"; timeout 20 compute-sanitizer --version 2>&1 | tail -1 || true
    echo "\$ ldconfig -p | grep -E 'cuda|nvrtc|cublas|nccl'"; ldconfig -p 2>&1 | grep -E 'cuda|nvrtc|cublas|nccl' || echo "(none)"
    echo "\$ mpirun --version | head -1"; { command -v mpirun > /dev/null && timeout 20 mpirun --version 2>&1 | head -1; } || echo "(no mpirun)"
    echo "\$ PATH"; echo "$PATH"
    echo "\$ which dotnet"; command -v dotnet || echo "(no dotnet on PATH)"
    echo "\$ ls /usr/local/cuda*/lib64 | grep -E 'nvrtc|cublas'"
    ls -d /usr/local/cuda*/lib64 2>/dev/null; ls /usr/local/cuda*/lib64 2>/dev/null | grep -E 'nvrtc|cublas' | sort -u | tr '\n' ' '; echo
    echo "\$ python: ${python:-none with torch}"
    if [ -n "$python" ]; then
        timeout 60 "$python" -c 'import nvidia; print("nvidia wheels:", list(nvidia.__path__))' 2>&1 | tail -1
        timeout 60 "$python" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -1
        timeout 60 "$python" -c 'import torch; print("NCCL (torch):", ".".join(map(str, torch.cuda.nccl.version())))' 2>&1 | tail -1
    fi
    echo "\$ uname -r; nproc"; uname -r; nproc
    echo "commit: $commit"
} > "$tmp/environment.txt" 2>&1
echo "=== environment"
cat "$tmp/environment.txt"

# --- the .NET runtime, unpacked from .gpu ---------------------------------------------------------------------------
app=$root/.gpu/app
if [ -f .gpu/dotnet-runtime.tar.xz ]; then
    mkdir -p "$tmp/dotnet" && tar -C "$tmp/dotnet" -xJf .gpu/dotnet-runtime.tar.xz
    dotnet=$tmp/dotnet/dotnet
    export DOTNET_ROOT=$tmp/dotnet
else
    dotnet=$(command -v dotnet || echo missing-dotnet)
fi
echo "runtime: $dotnet ($("$dotnet" --list-runtimes 2>&1 | head -1))" | tee -a "$tmp/environment.txt"
if [ ! -f "$app/CudaNn.Cli.dll" ]; then
    add_summary "publish" "FAILED: no $app/CudaNn.Cli.dll; run scripts/gpu-publish.sh and carry .gpu"
fi
write_report

# --- the steps ------------------------------------------------------------------------------------------------------
# CudaNn's own library search, with the loader's path as this machine set it: info must find the GPU, NVRTC and cuBLAS.
run_step "CudaNn info" 30 "$dotnet" "$app/CudaNn.Cli.dll" info
add_summary "info" "$( [ $step_rc = 0 ] && grep -m1 '^GPU' "$step_log" | cut -c1-120 || echo "FAILED (exit $step_rc)")"
# Only the lines this check needs: the driver, NVRTC, cuBLAS (and cuBLASLt) and the GPU. NCCL and MPI may well be
# missing here, and their own steps say so.
if ! $emulator && grep -E '^(driver|NVRTC|cuBLAS|cuBLASLt|GPU):' "$step_log" | grep -qiE 'not found|not available|unavailable|could not'; then
    # Record the miss, then put the folders that hold the libraries on the loader's path so the other steps still run.
    extra=$(
        { ls -d /usr/local/cuda*/lib64 2>/dev/null
          [ -n "$python" ] && timeout 60 "$python" -c 'import nvidia, os; [print(os.path.join(p, d, "lib")) for p in nvidia.__path__ for d in sorted(os.listdir(p))]' 2>/dev/null
        } | while read -r d; do [ -n "$(ls "$d" 2>/dev/null | grep -E '^lib(nvrtc|cublas)\.so')" ] && echo "$d"; done | paste -sd:)
    add_summary "library search" "MISSED something (see info); later steps use LD_LIBRARY_PATH=${extra:-nothing found}"
    failures=$((failures + 1))
    [ -n "$extra" ] && export LD_LIBRARY_PATH=$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

for mode in "" "--plan fused" "--plan epilogues" "--precision tf32" "--precision bf16"; do
    run_step "CudaNn verify --device $device $mode" 150 "$dotnet" "$app/CudaNn.Cli.dll" verify --device "$device" $mode
    add_summary "verify ($device${mode:+, ${mode#--}})" "$( [ $step_rc = 0 ] && echo "pass: $(tail -1 "$step_log")" || echo "FAIL (exit $step_rc): $(grep -m1 -iE 'fail|error' "$step_log" | cut -c1-100)")"
done

if $emulator; then run_step "GPU tests (emulator twins)" 150 "$dotnet" "$app/Nn.Tests.Gpu.dll" --emulator
else run_step "GPU tests" 180 "$dotnet" "$app/Nn.Tests.Gpu.dll"; fi
tests=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$step_log" | tail -1)
add_summary "tests" "${tests:-no summary line} (exit $step_rc)"

# Memory errors and races the emulator cannot see (it has no cuBLAS or cuBLASLt of NVIDIA's), right after the tests as
# they decide whether the rest can be trusted: memcheck on a short train with evaluation between its epochs and on the
# fused and epilogue plans' verify, racecheck on the fused kernels (their shared memory), where the machine lets the
# tool read the GPU.
if ! $emulator && command -v compute-sanitizer > /dev/null; then
    sanitize() { # sanitize TOOL LABEL LIMIT ARGS...: one run of the app under compute-sanitizer's TOOL
        local tool=$1 label=$2 limit=$3
        shift 3
        run_step "compute-sanitizer $tool: $label" "$limit" compute-sanitizer --tool "$tool" --error-exitcode 3 "$dotnet" "$app/CudaNn.Cli.dll" "$@"
        add_summary "compute-sanitizer $tool, $label" "$( [ $step_rc = 0 ] && (grep -m1 'ERROR SUMMARY' "$step_log" || echo ok) || echo "exit $step_rc: $(grep -m1 -E 'ERROR SUMMARY|Invalid|Race|not supported|error' "$step_log" | cut -c1-100)")"
    }
    sanitize memcheck "train, 2 epochs, batch 500" 90 train --device cuda --batch-size 500 --epochs 2 --save "$tmp/memcheck.safetensors"
    sanitize memcheck "verify --plan fused" 60 verify --device cuda --plan fused
    sanitize racecheck "verify --plan fused" 90 verify --device cuda --plan fused
    sanitize memcheck "verify --plan epilogues" 60 verify --device cuda --plan epilogues
fi

# The emulator, which runs every CUDA thread on the CPU, trains on a slice of the digits (the first 300 training and
# 500 test images); the GPU on all of them.
slice_digits() { # slice_digits FROM TO TRAIN TEST
    python3 - "$@" << 'PY'
import gzip, struct, sys
src, dst, counts = sys.argv[1], sys.argv[2], {"train": int(sys.argv[3]), "t10k": int(sys.argv[4])}
for split, n in counts.items():
    for kind, item in (("images-idx3-ubyte", 784), ("labels-idx1-ubyte", 1)):
        with gzip.open(f"{src}/{split}-{kind}.gz") as f:
            data = f.read()
        header = 16 if item == 784 else 8
        head = bytearray(data[:header]); struct.pack_into(">I", head, 4, n)
        with gzip.open(f"{dst}/{split}-{kind}.gz", "wb") as f:
            f.write(bytes(head) + data[header:header + n * item])
PY
}
train_extra=()
if $emulator; then
    mkdir -p "$tmp/digits"
    slice_digits "$root/data/mnist-10k" "$tmp/digits" 300 500 && train_extra=(--data "$tmp/digits")
fi
train_step() { # train_step LABEL LIMIT ARGS...: one train run on $device and the same run on the CPU backend,
    # summarised as wall time, epochs, test accuracy and the difference from the CPU's accuracy and last loss
    local label=$1 limit=$2
    shift 2
    local t0=$(date +%s.%N)
    run_step "CudaNn $* ($label)" "$limit" "$dotnet" "$app/CudaNn.Cli.dll" "$@"
    local wall=$(since "$t0") rc=$step_rc log=$step_log
    local accuracy=$(grep -oE 'Test Accuracy: [0-9.]+%' "$log" | tail -1 | cut -d' ' -f3)
    local loss=$(grep -oE '^Epoch [0-9]+/[0-9]+: loss [0-9.]+' "$log" | tail -1 | awk '{ print $NF }')
    local inside=$(grep -oE '[0-9.,]+ s in all' "$log" | tail -1)
    local epochs=$(grep -cE '^Epoch [0-9]+/' "$log")
    local plan=$(grep -m1 -E '^plan ' "$log" | cut -c1-160)
    local cpu_args=("$@")
    for i in "${!cpu_args[@]}"; do
        [ "${cpu_args[$i]}" = "$device" ] && cpu_args[$i]=cpu
        [ "$i" -gt 0 ] && [ "${cpu_args[$((i - 1))]}" = "--save" ] && cpu_args[$i]=$tmp/cpu-reference.safetensors
    done
    run_step "CudaNn ${cpu_args[*]} ($label, CPU)" 60 "$dotnet" "$app/CudaNn.Cli.dll" "${cpu_args[@]}"
    local cpu_accuracy=$(grep -oE 'Test Accuracy: [0-9.]+%' "$step_log" | tail -1 | cut -d' ' -f3)
    local cpu_loss=$(grep -oE '^Epoch [0-9]+/[0-9]+: loss [0-9.]+' "$step_log" | tail -1 | awk '{ print $NF }')
    local versus=$(awk -v a="${accuracy%\%}" -v b="${cpu_accuracy%\%}" -v l="$loss" -v m="$cpu_loss" \
        'BEGIN { if (a != "" && b != "") printf "; CPU %s%% (%+.2f points), last train loss %s vs CPU %s", b, a - b, l, m }')
    add_summary "train, $label" "$( [ $rc = 0 ] && echo "${wall} s wall (${inside:-?}), ${epochs} epochs, test accuracy ${accuracy:-?}${versus}${plan:+; $plan}" || echo "FAILED (exit $rc): $(grep -m1 -iE 'error|exception' "$log" | cut -c1-100)")"
}
# The first train compiles kernels.cu into an empty cache; the second reads that cache.
CUDANN_CACHE_DIR=$tmp/cold-cache train_step "seed run, empty kernel cache" 120 \
    train --device "$device" --save "$tmp/mnist-mlp.safetensors" "${train_extra[@]}" $($emulator && echo --epochs 3)
train_step "odd batch 96, 2 epochs" 60 \
    train --device "$device" --batch-size 96 --epochs 2 --save "$tmp/odd.safetensors" "${train_extra[@]}"
# --plan auto is the default on a GPU (the seed run above tuned at batch 64); at 1,024 the choice may differ. The
# emulator tunes only when asked, by its own times.
train_step "batch 1,024, 2 epochs, --plan auto" 60 \
    train --device "$device" --batch-size 1024 --epochs 2 --plan auto --save "$tmp/wide-batch.safetensors" "${train_extra[@]}"

# Data-parallel through NCCL (and MPI for the launch) on this one GPU: a single rank, as far as one card allows. The
# NCCL collectives themselves are also in the GPU tests (NcclProcessGroupTests).
if ! $emulator; then
    if command -v mpirun > /dev/null; then
        as_root=(); [ "$(id -u)" = 0 ] && as_root=(--allow-run-as-root)
        run_step "mpirun -np 1 CudaNn train --distributed" 90 mpirun "${as_root[@]}" -np 1 -x TERM=dumb \
            "$dotnet" "$app/CudaNn.Cli.dll" train --distributed --device cuda --epochs 2 --save "$tmp/distributed.safetensors"
        add_summary "train --distributed, 1 rank (NCCL)" "$( [ $step_rc = 0 ] && grep -oE 'Test Accuracy: [0-9.]+%' "$step_log" | tail -1 || echo "FAILED (exit $step_rc): $(grep -m1 -iE 'error|exception' "$step_log" | cut -c1-100)")"
    else
        add_summary "train --distributed" "not run: no mpirun on this machine"
    fi
fi

# PyTorch first, writing its rows as `cudann bench --json` does, so that the bench can set them beside its own.
if [ -n "$python" ]; then
    baseline=(Nn.Bench/baselines/mlp_gpu_pytorch.py)
    $emulator && baseline+=(--cpu)
    run_step "PyTorch baseline" 150 "$python" -u "${baseline[@]}" --no-compile --json "$tmp/torch.json"
    torch_rc=$step_rc
    add_summary "PyTorch" "$( [ $torch_rc = 0 ] && (grep -m1 '^skipped' "$step_log" || head -1 "$step_log" | sed 's/^## //') || echo "FAILED or skipped (exit $torch_rc)")"
else
    add_summary "PyTorch" "not run: no python with torch"
fi
compare=()
[ -s "$tmp/torch.json" ] && compare=(--compare "$tmp/torch.json")

# cudann bench: every plan in FP32 at batch 64 and 1,024 (with kernels, GEMMs and epochs) beside PyTorch first; then
# the other batch sizes in every precision, and the wide MLP, which a short budget may cut.
bench_step() { # bench_step TITLE LIMIT ARGS...
    local title=$1 limit=$2
    shift 2
    run_step "CudaNn bench: $title" "$limit" "$dotnet" "$app/CudaNn.Cli.dll" bench --device "$device" "$@" "${compare[@]}"
    add_summary "bench, $title" "$( [ $step_rc = 0 ] && echo ok || echo "FAILED or cut (exit $step_rc)")"
}
bench_step "every plan, FP32, batch 64 and 1,024" 150 --batch-sizes 64,1024
cp "$step_log" "$tmp/bench.txt"
# median NAME SIZE: the median µs of the bench table's row (the name fills 40 columns, the size the next 26).
median() { awk -v n="$1" -v s="$2" 'substr($0, 1, 40) == sprintf("%-40s", n) && substr($0, 42, 26) == sprintf("%-26s", s) { print substr($0, 69, 11) + 0; exit }' "$tmp/bench.txt"; }
seed=784-128-64-10
for b in 64 1024; do
    add_summary "CudaNn step µs, batch $b: graph layers / epilogues / fused, eager" \
        "$(median "graph, layers" "$seed, batch $b") / $(median "graph, epilogues" "$seed, batch $b") / $(median "graph, fused" "$seed, batch $b"), $(median "eager, layers" "$seed, batch $b")"
done
if $emulator; then
    bench_step "steps at batch 256 in FP32, TF32 and BF16" 90 --sections steps --batch-sizes 256 --precision fp32,tf32,bf16 --samples 1
    bench_step "wide MLP 784-256-256-10, batch 4" 90 --sections gemms,steps --hidden 256,256 --batch-sizes 4 --precision fp32,tf32,bf16 --samples 1
else
    bench_step "steps at batch 256 and 8,192 in FP32, TF32 and BF16" 90 --sections steps --batch-sizes 256,8192 --precision fp32,tf32,bf16
    bench_step "wide MLP 784-4096-4096-10, batch 1,024 and 8,192" 120 --sections gemms,steps --hidden 4096,4096 --batch-sizes 1024,8192 --precision fp32,tf32,bf16
fi
{
    echo "## CudaNn beside PyTorch (\`cudann bench --compare\`, every plan in FP32 at batch 64 and 1,024)"
    echo
    echo "Each row's median µs, and PyTorch's fastest row of the same size (its µs a step, for epochs) with PyTorch's time"
    echo "over CudaNn's. BF16 rows are not like for like: PyTorch's autocast keeps activations and their gradients in"
    echo "bfloat16; CudaNn rounds only the GEMMs' inputs to bfloat16 and keeps everything else in float32."
    echo
    echo '```'
    cat "$tmp/bench.txt"
    echo '```'
    echo
} > "$tmp/side-by-side.md"

# Where a training step's time goes: Nsight Compute's per-kernel summary over about three graph-replayed steps of batch
# 64 (28 launches a step; the first 400 launches, eager and captured steps, are skipped), at the card's own clocks.
if ! $emulator && command -v ncu > /dev/null; then
    run_step "ncu: kernels of 3 training steps, batch 64" 90 ncu --clock-control none --print-summary per-kernel \
        --launch-skip 400 --launch-count 84 "$dotnet" "$app/CudaNn.Cli.dll" train --device cuda --epochs 1 \
        --save "$tmp/ncu.safetensors"
    add_summary "ncu" "$( [ $step_rc = 0 ] && echo "ok: $(grep -cE '^  [a-zA-Z].*Invocations' "$step_log") kernel rows, see its section" || echo "exit $step_rc: $(grep -m1 -iE 'error|not supported' "$step_log" | cut -c1-100)")"
fi

# Last, in a step of its own: torch.compile(mode="max-autotune") tunes every GEMM shape (30-90 s a row, cold), so
# what the budget cuts is only these rows.
if [ -n "$python" ] && ! $emulator; then
    run_step "PyTorch torch.compile max-autotune" 240 "$python" -u Nn.Bench/baselines/mlp_gpu_pytorch.py --compile-only
    add_summary "PyTorch torch.compile" "$( [ $step_rc = 0 ] && echo ok || echo "cut or failed (exit $step_rc)")"
fi

# --- the summary --------------------------------------------------------------------------------------------------
add_summary "whole run" "$(elapsed) s"
write_report

echo
echo "=== report: $report ($(wc -c < "$report") bytes)"
cat "$tmp/side-by-side.md"
echo "## GPU check summary: $card, driver $driver, commit ${commit:0:12}"
echo
echo "| check | result |"
echo "|---|---|"
cat "$summary"
echo
echo "$failures step(s) failed or were skipped"
[ "$failures" = 0 ]
