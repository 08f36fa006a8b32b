"""The CPU peer: the seed MLP (784-128-64-10 ReLU, Adam 1e-3, cross-entropy) in PyTorch, on the same shipped
digits and normalisation as `CudaNn train`, timed as Nn.Bench times CudaNn: 5 epochs at batch 64 end to end,
then the median of 200 steps on a fixed batch at batch 64 and 1024 after 50 warm-up steps.

Run with Debian's PyTorch (apt-get install python3-torch): /usr/bin/python3 Nn.Bench/baselines/mlp_cpu_pytorch.py [threads]
"""
import gzip, os, struct, sys, time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(1)
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "mnist-10k")


def idx(name):
    raw = gzip.open(os.path.join(data, name)).read()
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return torch.frombuffer(bytearray(raw[4 + 4 * raw[3]:]), dtype=torch.uint8).reshape(dims)


def images(name):
    return (idx(name).reshape(-1, 784).float() / 255 - 0.5) / 0.5


x_train, y_train = images("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz").long()
x_test, y_test = images("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz").long()
model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(),
                            torch.nn.Linear(64, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()


def step(x, y):
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()


start = time.perf_counter()
for epoch in range(5):
    order = torch.randperm(len(x_train))
    for i in range(0, len(x_train), 64):
        b = order[i:i + 64]
        step(x_train[b], y_train[b])
seconds = time.perf_counter() - start
with torch.no_grad():
    accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
print(f"PyTorch {torch.__version__}, {threads} threads: 5 epochs in {seconds:.2f} s, Test Accuracy: {100 * accuracy:.2f}%")

for batch in (64, 1024):
    x, y = x_train[:batch], y_train[:batch]
    for _ in range(50):
        step(x, y)
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        step(x, y)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"batch {batch}: median step {1000 * times[len(times) // 2]:.3f} ms")
