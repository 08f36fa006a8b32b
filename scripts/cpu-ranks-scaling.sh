#!/usr/bin/env bash
# Data-parallel `train` on CPU ranks against one process, the job users run: `mpirun -np N ... train --distributed`
# with batch B/N per rank beside `train` with batch B (the same samples each step), run alternately ROUNDS times per
# configuration on this machine. Prints one markdown table: the median time of the later epochs (training only, as
# `train` reports it), samples per second, and the job's speed over the single process's.
#   scripts/cpu-ranks-scaling.sh [ROUNDS] [EPOCHS] [RANKS]     (Fashion-MNIST from Debian's dataset-fashion-mnist if present)
set -euo pipefail
rounds=${1:-3}
epochs=${2:-3}
ranks=${3:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v mpirun > /dev/null || { echo "cpu-ranks-scaling: needs Open MPI's mpirun (apt-get install openmpi-bin)" >&2; exit 1; }
dotnet build CudaNn -c Release -v quiet -nologo > /dev/null
cudann=CudaNn/bin/Release/net10.0/CudaNn.Cli.dll
log=$(mktemp)
save=$(mktemp -d)
trap 'rm -rf "$log" "$save"' EXIT
as_root=(); [ "$(id -u)" = 0 ] && as_root=(--allow-run-as-root)

# One JSON line per epoch: keep "WHO DATA BATCH EPOCH SECONDS".
epochs_of() { python3 -c '
import json, sys
for line in sys.stdin:
    if "{" in line and "\"event\":\"epoch\"" in line:
        e = json.loads(line[line.index("{"):])
        print(sys.argv[1], sys.argv[2], sys.argv[3], e["epoch"], e["seconds"])' "$@"; }

datasets=("data/mnist-10k")
[ -d /usr/share/datasets/fashion-mnist ] && datasets+=("/usr/share/datasets/fashion-mnist")
for data in "${datasets[@]}"; do
    for batch in 64 256 1024; do
        for round in $(seq "$rounds"); do
            dotnet "$cudann" train --device cpu --data "$data" --batch-size "$batch" --epochs "$epochs" --json \
                --save "$save/one.safetensors" | epochs_of one "$data" "$batch" >> "$log"
            mpirun "${as_root[@]}" -np "$ranks" -x TERM=dumb dotnet "$cudann" train --distributed --device cpu --data "$data" \
                --batch-size $((batch / ranks)) --epochs "$epochs" --json --save "$save/job.safetensors" | epochs_of job "$data" "$batch" >> "$log"
        done
    done
done

python3 - "$log" "$rounds" "$epochs" "$ranks" "$(nproc)" << 'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
rounds, epochs, ranks, cores = sys.argv[2:6]
def median(who, data, batch):
    t = [float(r[4]) for r in rows if r[0] == who and r[1] == data and r[2] == batch and r[3] != "1"]
    return statistics.median(t) if t else float("nan")
print(f"`train` epochs 2+, seconds, median of {rounds} alternating rounds of {epochs} epochs; {ranks} ranks on {cores} cores")
print()
print(f"| data | batch in all | 1 process | {ranks} ranks x batch/{ranks} | {ranks} ranks / 1 process, speed |")
print("|---|---:|---:|---:|---:|")
for data, batch in sorted({(r[1], r[2]) for r in rows}, key=lambda k: (k[0], int(k[1]))):
    one, job = median("one", data, batch), median("job", data, batch)
    print(f"| {data} | {batch} | {one:.3f} | {job:.3f} | **{one / job:.2f}** |")
PY
