"""The GPU peer: the seed MLP (784-128-64-10 ReLU, cross-entropy, Adam lr 1e-3) in PyTorch on the same card, timed
as `Nn.Bench gpu` times CudaNn, with the same tables and row names so a report can set them side by side:

1. a training step on a fixed batch already on the GPU, at batch 64, 256, 1024 and 8192, eager (default Adam) and
   replayed as one CUDA graph (static input tensors, Adam(capturable=True)), the graph also with TF32 GEMMs and with
   autocast to bfloat16; then the wide MLP 784-4096-4096-10 at batch 1024 and 8192 as a graph in each precision;
   CUDA events around N steps after a warm-up, median of the repeats;
2. epochs over the shipped digits at batch 64, shuffled, with each batch gathered and normalised on the GPU from the
   uint8 data set (as CudaNn's DataLoader does); one untimed epoch, then the median of the timed ones;
3. last, as its autotuning can take minutes, the step compiled with torch.compile(mode="max-autotune") (Triton kernels
   and CUDA graphs of its own): the seed MLP at batch 64 and 8192, the wide MLP at 8192 in each precision.

FP32 (TF32 off), as CudaNn's cuBLAS SGEMM, except in the rows marked TF32 or BF16.

    python3 Nn.Bench/baselines/mlp_gpu_pytorch.py [--quick] [--no-compile | --compile-only]
    python3 Nn.Bench/baselines/mlp_gpu_pytorch.py --cpu     # a dry run of the code on the CPU (timings mean nothing)
    python3 Nn.Bench/baselines/mlp_gpu_pytorch.py --json FILE  # also write the rows as `cudann bench --json` does

With --json FILE the step and epoch rows are also written to FILE in the layout of `cudann bench --json` (sections
"steps" and "epochs", sizes spelled as CudaNn spells them), so `cudann bench --compare FILE` sets them beside its own.

--no-compile stops before part 3 and --compile-only runs part 3 alone, so a time-limited run can keep part 3 for last.

The BF16 rows are not like for like: PyTorch's autocast keeps activations and their gradients in bfloat16, where
CudaNn rounds only the GEMMs' inputs to bfloat16 and keeps everything else in float32.
"""
import datetime
import gzip
import json
import os
import statistics
import struct
import sys
import time

import torch

QUICK = "--quick" in sys.argv
CPU = "--cpu" in sys.argv
NO_COMPILE = "--no-compile" in sys.argv
COMPILE_ONLY = "--compile-only" in sys.argv
BATCHES = [64, 256] if CPU else [64, 256, 1024, 8192]
WIDE_BATCHES = [4] if CPU else [8192] if QUICK else [1024, 8192]
SEED_HIDDEN, WIDE_HIDDEN = (128, 64), ((256, 256) if CPU else (4096, 4096))
REPEATS = 2 if CPU else 3 if QUICK else 9
EPOCHS = 1 if CPU else 2 if QUICK else 5
WARMUP_SECONDS = 0 if CPU else 0.1 if QUICK else 0.4
EPOCH_BATCH = 64
JSON_PATH = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv[:-1] else None
ROWS = []  # the JSON rows, as `cudann bench --json` writes them


def add_row(section, name, size, samples_us, **figures):
    """One row of the report: median, fastest and slowest of the samples in microseconds, and its figures."""
    ROWS.append(dict(section=section, name=name, size=size, samples=len(samples_us), median_us=statistics.median(samples_us),
                     min_us=min(samples_us), max_us=max(samples_us), **figures))


def write_json(card):
    """The report, written beside its path and renamed over it, so a run that is cut leaves no half-written file."""
    report = dict(layout=1, source=f"PyTorch {torch.__version__}", device=card, emulated=False,
                  date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), l2_cache_bytes=0, rows=ROWS)
    temporary = JSON_PATH + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, JSON_PATH)


def gemm_flop_per_sample(hidden):
    """The forward GEMMs and both backward GEMMs of 784-hidden-10."""
    widths = (784,) + tuple(hidden) + (10,)
    return sum(6 * a * b for a, b in zip(widths, widths[1:]))
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "mnist-10k")


def steps_per_timing(batch, hidden=SEED_HIDDEN):
    """Enough steps between two events that their 0.5 us resolution is noise; a step of 10 GFLOP or more is long alone."""
    if CPU:
        return 2
    if batch * gemm_flop_per_sample(hidden) >= 10_000_000_000:
        return 3 if QUICK else 10
    return 20 if QUICK else 200 if batch <= 1024 else 50


def idx(name):
    raw = gzip.open(os.path.join(DATA, name)).read()
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return torch.frombuffer(bytearray(raw[4 + 4 * raw[3]:]), dtype=torch.uint8).reshape(dims)


def new_model(device, capturable, hidden=SEED_HIDDEN):
    torch.manual_seed(1)
    widths = (784,) + tuple(hidden)
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(widths[-1], 10)).to(device)
    # capturable keeps Adam's step count on the GPU, which a replayed graph needs (as CudaNn's device step count).
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True) if capturable else \
        torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, opt, torch.nn.CrossEntropyLoss()


class Timer:
    """CUDA events on a GPU (synchronized before reading), the wall clock on the CPU dry run."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def milliseconds(self, work):
        self.sync()
        if not self.cuda:
            start = time.perf_counter()
            work()
            return (time.perf_counter() - start) * 1e3
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        work()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)


def warm_up(step, timer, minimum=3):
    start, i = time.perf_counter(), 0
    while i < minimum or time.perf_counter() - start < WARMUP_SECONDS:
        step()
        i += 1
    timer.sync()


def eager_step(model, opt, loss_fn, bf16=False):
    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def set_tf32(on):
    """TF32 GEMMs on or off: torch 2.9+ spells it fp32_precision (allow_tf32 warns there)."""
    try:
        torch.backends.cuda.matmul.fp32_precision  # older releases raise AssertionError, not AttributeError
        spelled_new = True
    except (AttributeError, AssertionError):
        spelled_new = False
    if spelled_new:
        torch.backends.cuda.matmul.fp32_precision = "tf32" if on else "ieee"
        torch.backends.cudnn.conv.fp32_precision = "tf32" if on else "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on


def capture(model, opt, loss_fn, body):
    """PyTorch's whole-network capture: a few eager steps on a side stream, then one step recorded into a graph.
    Gradients are set to None first so that backward allocates them from the graph's memory pool."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = body()
    return graph, loss


def step_row(device, timer, batch, mode, hidden=SEED_HIDDEN, precision="fp32"):
    """mode: "eager", "graph" or "compile max-autotune"; precision: "fp32", "tf32" (TF32 GEMMs) or "bf16" (autocast)."""
    graphs = mode == "graph"
    model, opt, loss_fn = new_model(device, capturable=graphs)
    gen = torch.Generator().manual_seed(20240607)
    x = (torch.rand(batch, 784, generator=gen) * 2 - 1).to(device)  # normalised range, never zeros
    y = torch.randint(0, 10, (batch,), generator=gen).to(device)
    if device.type == "cuda":
        set_tf32(precision == "tf32")
    if mode == "compile max-autotune":
        # The model's forward and backward compiled (AOTAutograd), the optimizer's step compiled on its own, as
        # PyTorch's documentation on compiling an optimizer shows.
        compiled = torch.compile(model, mode="max-autotune")
        opt_step = torch.compile(opt.step, mode="max-autotune")

        def train(xb, yb):
            opt.zero_grad(set_to_none=True)
            with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss_value = loss_fn(compiled(xb), yb)
            loss_value.backward()
            opt_step()
            return loss_value
        eager = train
    else:
        eager = eager_step(model, opt, loss_fn, bf16=precision == "bf16")
    if graphs:
        graph, loss = capture(model, opt, loss_fn, lambda: eager(x, y))
        step = graph.replay
    else:
        loss = None

        def step():
            nonlocal loss
            loss = eager(x, y)
    warm_up(step, timer)
    n = steps_per_timing(batch, hidden)

    def run():
        for _ in range(n):
            step()
    per_step = [timer.milliseconds(run) * 1e3 / n for _ in range(REPEATS)]
    last = loss.item()
    if device.type == "cuda":
        set_tf32(False)
    if not torch.isfinite(torch.tensor(last)):
        raise RuntimeError(f"batch {batch} ({mode}): loss {last} after the timed steps")
    median = statistics.median(per_step)
    name = mode + {"fp32": "", "tf32": ", TF32", "bf16": ", BF16"}[precision]
    add_row("steps", "pytorch " + name, f"784-{'-'.join(map(str, hidden))}-10, batch {batch}", per_step, steps=1,
            flop=gemm_flop_per_sample(hidden) * batch)
    return ("784-" + "-".join(map(str, hidden)) + "-10", batch, name, median, min(per_step), batch / (median * 1e-6),
            gemm_flop_per_sample(hidden) * batch / (median * 1e3))


def epoch_row(device, timer, images, labels, graphs):
    """Epochs at batch 64: permutation drawn on the host and uploaded once per epoch, each batch gathered from the
    uint8 data set and normalised ((v/255 - 0.5)/0.5) on the device. With graphs the gather is inside the graph,
    reading the batch's indices from a static buffer that a device-to-device copy fills before each replay."""
    model, opt, loss_fn = new_model(device, capturable=graphs)
    count = images.shape[0]
    eager = eager_step(model, opt, loss_fn)
    losses = torch.zeros((), device=device)

    def gathered(index):
        return (images[index].float() / 255 - 0.5) / 0.5, labels[index]

    def train_on(index):
        loss = eager(*gathered(index))
        losses.add_(loss.detach())  # the epoch's loss stays on the device, as CudaNn's Trainer keeps it
        return loss

    static_index = torch.arange(EPOCH_BATCH, device=device)
    graph = None
    if graphs:
        graph, _ = capture(model, opt, loss_fn, lambda: train_on(static_index))
    gen = torch.Generator().manual_seed(1)
    total = {"steps": 0}

    def epoch():
        order = torch.randperm(count, generator=gen).to(device)
        for start in range(0, count, EPOCH_BATCH):
            index = order[start:start + EPOCH_BATCH]
            if graph is not None and index.shape[0] == EPOCH_BATCH:
                static_index.copy_(index)
                graph.replay()
            else:
                train_on(index)
            total["steps"] += 1
        return losses.item()  # read once per epoch, as `train` reports it

    epoch()
    device_ms, wall_ms = [], []
    for _ in range(EPOCHS):
        total["steps"] = 0
        clock = time.perf_counter()
        device_ms.append(timer.milliseconds(epoch))
        wall_ms.append((time.perf_counter() - clock) * 1e3)
    steps = total["steps"]
    if not torch.isfinite(losses).item():
        raise RuntimeError(f"epochs ({'graph' if graphs else 'eager'}): the summed training loss is {losses.item()}")
    per_step = statistics.median(device_ms) * 1e3 / steps
    add_row("epochs", "pytorch " + ("graph" if graphs else "eager"), f"{count} digits, batch {EPOCH_BATCH}", [ms * 1e3 for ms in device_ms], steps=steps)
    return (f"{count} digits, batch {EPOCH_BATCH}", "graph" if graphs else "eager", steps, statistics.median(device_ms),
            statistics.median(wall_ms), per_step, EPOCH_BATCH / (per_step * 1e-6), per_step * -(-60000 // EPOCH_BATCH) / 1e3)


def main():
    try:
        return run_tables()
    finally:
        if JSON_PATH is not None and CARD:
            write_json(CARD[0])


CARD = []  # the device's name, once known


def run_tables():
    if CPU:
        device = torch.device("cpu")
        card = "CPU dry run (timings mean nothing)"
    elif not torch.cuda.is_available():
        print("skipped: no GPU (torch.cuda.is_available() is False)")
        return 0
    else:
        device = torch.device("cuda")
        card = torch.cuda.get_device_name(0)
        set_tf32(False)  # IEEE float32 GEMMs, as CudaNn's cuBLAS calls use, but in the TF32 rows
    CARD.append(card)
    timer = Timer(device)
    graphs = [True, False] if device.type == "cuda" else [False]
    print(f"## PyTorch {torch.__version__} (CUDA {torch.version.cuda}) on {card}" + (", quick" if QUICK else ""))
    print()
    cuda = device.type == "cuda"
    if COMPILE_ONLY:
        return compile_table(device, timer, cuda)
    print("### Training step, seed MLP 784-128-64-10 and wide MLP 784-4096-4096-10, fixed batch on the device")
    print()
    print(f"PyTorch, {card}: median of {REPEATS} timings of N steps each (CUDA events), after warm-up; "
          "eager: Adam default (foreach), graph: Adam(capturable=True), compile: torch.compile(mode=\"max-autotune\").")
    print()
    seed_modes = [("eager", "fp32")] + ([("graph", "fp32"), ("graph", "tf32"), ("graph", "bf16")] if cuda else [])
    wide_modes = [("graph" if cuda else "eager", p) for p in ("fp32", "tf32", "bf16")]
    step_table(device, timer, [(SEED_HIDDEN, batch, m, p) for batch in BATCHES for m, p in seed_modes] +
               [(WIDE_HIDDEN, batch, m, p) for batch in WIDE_BATCHES for m, p in wide_modes])
    print()
    print("### Training epochs, batch gathered and normalised on the device")
    print()
    images = idx("train-images-idx3-ubyte.gz").reshape(-1, 784).to(device)
    labels = idx("train-labels-idx1-ubyte.gz").long().to(device)
    print(f"PyTorch, {card}: the shipped training digits, shuffled, median of {EPOCHS} epochs after one untimed.")
    print()
    print("| data | mode | steps | ms/epoch | wall ms | µs/step | samples/s | 60,000-sample epoch (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for g in graphs:
        data, mode, steps, ms, wall, per_step, sps, mnist = epoch_row(device, timer, images, labels, g)
        print(f"| {data} | {mode} | {steps} | {ms:.2f} | {wall:.2f} | {per_step:.1f} | {sps:,.0f} | {mnist:.1f} |", flush=True)
    if NO_COMPILE:
        return 0
    # Last, as compiling with max-autotune tunes every GEMM shape and can take minutes: a time limit then cuts only these.
    print()
    return compile_table(device, timer, cuda)


def compile_table(device, timer, cuda):
    """Part 3: the steps compiled with torch.compile(mode="max-autotune")."""
    print("### Training step, torch.compile(mode=\"max-autotune\")")
    print()
    if not (hasattr(torch, "compile") and cuda):
        print(f"(not run: {'this PyTorch has no torch.compile' if not hasattr(torch, 'compile') else 'a GPU is needed'})")
        return 0
    compiled = "compile max-autotune"
    wide_precisions = ("fp32",) if QUICK else ("fp32", "tf32", "bf16")
    step_table(device, timer, [(SEED_HIDDEN, batch, compiled, "fp32") for batch in ([64] if QUICK else [64, 8192])] +
               [(WIDE_HIDDEN, WIDE_BATCHES[-1], compiled, p) for p in wide_precisions])
    return 0


def step_table(device, timer, rows):
    """One markdown row per (hidden, batch, mode, precision), in the columns of Nn.Bench gpu's step table."""
    print("| model | batch | mode | µs/step | min µs | samples/s | GEMM GFLOP/s | graph nodes |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for hidden, batch, mode, precision in rows:
        try:
            model, b, name, med, low, sps, gflops = step_row(device, timer, batch, mode, hidden, precision)
            print(f"| {model} | {b} | {name} | {med:.1f} | {low:.1f} | {sps:,.0f} | {gflops:.1f} | - |", flush=True)
        except Exception as e:  # one mode failing (a compiler missing, say) leaves the others' rows
            print(f"| 784-{'-'.join(map(str, hidden))}-10 | {batch} | {mode}, {precision} | FAILED: {type(e).__name__}: {str(e)[:120]} | | | | |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
