#!/usr/bin/env bash
# `train` on the CPU beside libtorch, the job users run: CudaNn's `train --device cpu` and the libtorch peer
# (Nn.Bench/baselines/torchsharp: the same model, initial weights, batch order and loop through TorchSharp), run
# alternately ROUNDS times per configuration on this machine, both on all its cores. Prints one markdown table: the
# median time of epoch 1 and of the later epochs (training only, as `train` reports it), and libtorch's time over
# CudaNn's.
#   scripts/cpu-train-vs-libtorch.sh [ROUNDS] [EPOCHS]      (Fashion-MNIST from Debian's dataset-fashion-mnist if present)
set -euo pipefail
rounds=${1:-3}
epochs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
threads=$(nproc)
dotnet build CudaNn -c Release -v quiet -nologo > /dev/null
cudann=CudaNn/bin/Release/net10.0/CudaNn.Cli.dll
peer=$(bash Nn.Bench/baselines/torchsharp/build.sh | tail -1)
log=$(mktemp)
trap 'rm -f "$log" /tmp/cudann-vs-libtorch.safetensors' EXIT

now() { date +%s.%N; }
datasets=("data/mnist-10k")
[ -d /usr/share/datasets/fashion-mnist ] && datasets+=("/usr/share/datasets/fashion-mnist")
for data in "${datasets[@]}"; do
    # Time to the end of the first epoch from a built binary: a whole 1-epoch process, start to exit.
    for round in $(seq "$rounds"); do
        t0=$(now); dotnet "$cudann" train --device cpu --data "$data" --epochs 1 --save /tmp/cudann-vs-libtorch.safetensors > /dev/null
        t1=$(now); dotnet "$peer" "$data" --epochs 1 --threads "$threads" > /dev/null
        t2=$(now)
        echo "cudann $data process 0 $(echo "$t1 - $t0" | bc)" >> "$log"
        echo "libtorch $data process 0 $(echo "$t2 - $t1" | bc)" >> "$log"
    done
    batches="64 256"
    [ "$data" != data/mnist-10k ] && batches="64 256 1024 8192"
    for batch in $batches; do
        for round in $(seq "$rounds"); do
            dotnet "$cudann" train --device cpu --data "$data" --batch-size "$batch" --epochs "$epochs" \
                --save /tmp/cudann-vs-libtorch.safetensors \
                | grep -oE '^Epoch [0-9]+/[0-9]+: .* [0-9.]+ s( .*)?$' | sed -E "s|^Epoch ([0-9]+)/.* ([0-9.]+) s( .*)?$|cudann $data $batch \1 \2|" >> "$log"
            dotnet "$peer" "$data" --batch-size "$batch" --epochs "$epochs" --threads "$threads" \
                | grep -oE '^Epoch [0-9]+/[0-9]+: .* ([0-9.]+) s  median' | sed -E "s|^Epoch ([0-9]+)/.* ([0-9.]+) s  median$|libtorch $data $batch \1 \2|" >> "$log"
        done
    done
done

python3 - "$log" "$rounds" "$epochs" "$threads" << 'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
rounds, epochs, threads = sys.argv[2], sys.argv[3], sys.argv[4]
def median(who, data, batch, first):
    t = [float(r[4]) for r in rows if r[0] == who and r[1] == data and r[2] == batch and (r[3] == "1") == first]
    return statistics.median(t) if t else float("nan")
print(f"`train` per epoch, seconds, median of {rounds} alternating rounds of {epochs} epochs, {threads} threads each")
print()
print("| data | batch | CudaNn epoch 1 | libtorch epoch 1 | CudaNn epochs 2+ | libtorch epochs 2+ | libtorch / CudaNn, epochs 2+ |")
print("|---|---:|---:|---:|---:|---:|---:|")
for data, batch in sorted({(r[1], r[2]) for r in rows if r[2] != "process"}, key=lambda k: (k[0], int(k[1]))):
    c1, l1 = median("cudann", data, batch, True), median("libtorch", data, batch, True)
    c, l = median("cudann", data, batch, False), median("libtorch", data, batch, False)
    print(f"| {data} | {batch} | {c1:.3f} | {l1:.3f} | {c:.3f} | {l:.3f} | **{l / c:.2f}** |")
print()
print("A whole 1-epoch run at batch 64 from a built binary, process start to exit (load, JIT, data, evaluation), seconds:")
print()
print("| data | CudaNn | libtorch |")
print("|---|---:|---:|")
for data in sorted({r[1] for r in rows if r[2] == "process"}):
    c = statistics.median(float(r[4]) for r in rows if r[0] == "cudann" and r[1] == data and r[2] == "process")
    l = statistics.median(float(r[4]) for r in rows if r[0] == "libtorch" and r[1] == data and r[2] == "process")
    print(f"| {data} | {c:.2f} | {l:.2f} |")
PY
