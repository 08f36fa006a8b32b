"""Writes the PyTorch reference files the tests compare CudaNn against (Nn.Tests/References/*.safetensors).

Run with Debian's PyTorch 1.13 (apt-get install python3-torch), from the repository root:
    /usr/bin/python3 Nn.Tests/References/make_references.py
CI never runs this: the files it writes are committed, and the tests read them.

- mlp-*.safetensors: a 20-16-12-5 MLP in float64 per configuration (activation, loss, optimizer, batch). Each holds
  the batch (x, and labels or targets), the initial weights under CudaNn's names (fc1.weight, ...), the output and
  loss of the first forward, every gradient of the first backward (grad.*), and the weights after 1 and after 10
  optimizer steps on the same batch (step1.*, step10.*). The metadata says how the model and optimizer were made.
- optimizers.safetensors: three steps of each optimizer from fixed parameters and gradients, one learning rate or one
  per step (a schedule), for the optimizer unit tests.
- An MLP file whose metadata holds "layer_norm" has a LayerNorm between each hidden Linear and its activation (norm1, norm2).
- layernorm.safetensors: LayerNorm's output and every gradient for five inputs (with and without weight and bias, 3-d,
  a constant row, rows far from zero), the eps of each in the metadata.
- regression.csv and regression.safetensors: 100 rows of three features and a target (between them in the file), and
  a 3-16-1 tanh MLP trained on them in file order (batch 16, SGD with momentum, MSELoss, 3 epochs): initial and final
  weights, each epoch's mean training loss and the final mean squared error over all rows.
- activations.safetensors: every activation's output and input gradient at 103 points from -700 to 30.
- param_groups.safetensors: SGD with momentum, Adam and AdamW with amsgrad over two parameter groups (the second with
  its own learning rate and weight decay) for 8 steps, a warm-up-then-cosine schedule stepped after each: the
  parameters after ("CASE") and both groups' rate at every step ("CASE.rates").
- losses.safetensors: cross-entropy on logits that include +-1000 (loss and gradient), and MSE.
- schedules.safetensors: the learning rate of every learning-rate schedule (and two SequentialLR chains) at epochs
  0 to 40, starting from lr 0.1: entry 0 is the rate right after construction, entry k the rate after k steps.
  An MLP file whose metadata names a "schedule" steps that schedule after every optimizer step; one whose metadata
  holds "clip_grad_norm" or "clip_grad_value" clips the gradients so between backward and step ("grad.*" are before).
- An MLP file whose metadata holds "dropout" has a Dropout of that probability after each activation, drawing its masks
  as CudaNn's does (Philox4x32-10, below) from the seeds in "dropout_seeds" and a count of masks drawn, one per forward.
- dropout.safetensors: dropout of x [7, 9] and the gradient of dy through it for several probabilities, seeds and
  counts: PyTorch's own arithmetic (noise = bernoulli mask / (1 - p), y = x * noise) on CudaNn's masks.
- clipping.safetensors: clip_grad_norm_ and clip_grad_value_ on three gradients (5x7, 7, 3x5, with one element of
  1e3 in the last): the gradients before ("grad.I") and after ("CASE.grad.I"), and the returned norm ("CASE.norm").
- distributed_sampler.safetensors: the indices torch.utils.data.DistributedSampler (shuffle=False, drop_last=False) gives
  each rank ("COUNT-REPLICAS.rankR"), padding included, for data sets smaller than, equal to and larger than the ranks.
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
F64 = torch.float64


def write(name, tensors, metadata):
    """A safetensors file, written by hand (no safetensors package on Debian): a JSON header, then the raw bytes."""
    header, blobs, offset = {}, [], 0
    for key, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}[t.dtype]
        data = t.numpy().tobytes()
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    temporary = os.path.join(HERE, name + ".tmp")
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(temporary, os.path.join(HERE, name))


def philox4x32_10(counter, key):
    """Philox4x32-10 (Salmon et al., SC 2011) on Python integers: four 32-bit words from four counter and two key words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for round_ in range(10):
        if round_ > 0:
            k0, k1 = (k0 + 0x9E3779B9) & 0xFFFFFFFF, (k1 + 0xBB67AE85) & 0xFFFFFFFF
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & 0xFFFFFFFF, (p0 >> 32) ^ c3 ^ k1, p0 & 0xFFFFFFFF
    return c0, c1, c2, c3


# Random123's published known answers; a wrong Philox would write wrong masks, so check before writing anything.
assert philox4x32_10((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
assert philox4x32_10((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2) == (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)
assert philox4x32_10((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0)) == \
    (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)


def dropout_mask(seed, call, p, n):
    """CudaNn's dropout mask: element i keeps when word i % 4 of Philox(i // 4, call; seed) < round((1 - p) 2^32)."""
    keep_below = round((1 - p) * 2 ** 32)
    mask = []
    for group in range((n + 3) // 4):
        words = philox4x32_10((group & 0xFFFFFFFF, group >> 32, call & 0xFFFFFFFF, call >> 32),
                              (seed & 0xFFFFFFFF, seed >> 32))
        mask.extend(w < keep_below for w in words)
    return torch.tensor(mask[:n])


def dropout_noise(seed, call, p, like):
    """What torch's CPU dropout multiplies by, given the mask: bernoulli(1 - p) / (1 - p), in the input's dtype (zeros at p = 1)."""
    if p == 1:
        return torch.zeros_like(like)
    return dropout_mask(seed, call, p, like.numel()).reshape(like.shape).to(like.dtype).div_(1 - p)


class PhiloxDropout(torch.nn.Module):
    """torch.nn.Dropout with CudaNn's masks: a fresh one per forward in training, counted from 0."""

    def __init__(self, p, seed):
        super().__init__()
        self.p, self.seed, self.calls = p, seed, 0

    def forward(self, x):
        noise = dropout_noise(self.seed, self.calls, self.p, x)
        self.calls += 1
        return x * noise


# By the names CudaNn's Activation writes: a parameter follows a colon (leaky_relu:0.01 is PyTorch's default slope).
ACTIVATIONS = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "gelu": torch.nn.GELU, "silu": torch.nn.SiLU,
               "leaky_relu:0.01": torch.nn.LeakyReLU, "leaky_relu:0.2": lambda: torch.nn.LeakyReLU(0.2),
               "leaky_relu:-1.5": lambda: torch.nn.LeakyReLU(-1.5)}
OPTIMIZERS = {
    "adam": (lambda ps: torch.optim.Adam(ps, lr=1e-2), {"lr": 1e-2}),
    "adamw": (lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1), {"lr": 1e-2, "weight_decay": 0.1}),
    "sgd-momentum": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3),
                     {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3}),
    "sgd-nesterov": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                     {"lr": 0.05, "momentum": 0.9, "nesterov": 1, "weight_decay": 1e-3}),
    "sgd-momentum-warmup-cosine": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                                   {"lr": 0.05, "momentum": 0.9, "schedule": "warmup-cosine"}),
    "sgd-momentum-clip-norm": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                               {"lr": 0.05, "momentum": 0.9, "clip_grad_norm": 0.1}),
    "sgd-clip-value": (lambda ps: torch.optim.SGD(ps, lr=0.05), {"lr": 0.05, "clip_grad_value": 0.005}),
    "sgd-momentum-layernorm": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                               {"lr": 0.05, "momentum": 0.9, "layer_norm": "true"}),
    "sgd-momentum-dropout": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                             {"lr": 0.05, "momentum": 0.9, "dropout": 0.25, "dropout_seeds": "11400714819323198485,1099511640353"}),
}
S = torch.optim.lr_scheduler
# The schedules of schedules.safetensors, by name; the tests make the same ones by these names.
SCHEDULES = {
    "step": lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    "multistep": lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "exponential": lambda o: S.ExponentialLR(o, gamma=0.9),
    "cosine": lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "cosine-to-zero": lambda o: S.CosineAnnealingLR(o, T_max=10),
    "linear": lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=6),
    "linear-down": lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=8),
    "constant": lambda o: S.ConstantLR(o, factor=0.25, total_iters=4),
    "warmup-cosine": lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                  S.CosineAnnealingLR(o, T_max=20, eta_min=1e-4)], milestones=[5]),
    "constant-exponential-step": lambda o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=3),
                                                              S.ExponentialLR(o, gamma=0.8), S.StepLR(o, step_size=4, gamma=0.5)],
                                                          milestones=[4, 10]),
}
# Every activation with both losses, every optimizer, both batch sizes (64 and an odd 37).
MLPS = [("relu", "cross-entropy", "adam", 64), ("sigmoid", "cross-entropy", "adamw", 37),
        ("tanh", "cross-entropy", "sgd-momentum", 64), ("relu", "mse", "sgd-nesterov", 37),
        ("tanh", "mse", "adam", 37), ("sigmoid", "mse", "sgd-momentum", 64),
        ("relu", "cross-entropy", "sgd-momentum-warmup-cosine", 64), ("tanh", "cross-entropy", "sgd-momentum-clip-norm", 37),
        ("relu", "mse", "sgd-clip-value", 64), ("relu", "cross-entropy", "sgd-momentum-dropout", 37),
        ("gelu", "cross-entropy", "adamw", 64), ("silu", "mse", "sgd-momentum", 37),
        ("gelu", "cross-entropy", "sgd-momentum-layernorm", 37), ("leaky_relu:0.2", "cross-entropy", "adam", 37)]


def mlp(activation, loss_name, optimizer_name, batch, seed):
    torch.manual_seed(seed)
    act = ACTIVATIONS[activation]
    make, hyper = OPTIMIZERS[optimizer_name]
    layers = [torch.nn.Linear(20, 16), act(), torch.nn.Linear(16, 12), act(), torch.nn.Linear(12, 5)]
    names = {"0": "fc1", "2": "fc2", "4": "fc3"}
    if "layer_norm" in hyper:
        layers.insert(3, torch.nn.LayerNorm(12))
        layers.insert(1, torch.nn.LayerNorm(16))
        names = {"0": "fc1", "1": "norm1", "3": "fc2", "4": "norm2", "6": "fc3"}
    if "dropout" in hyper:
        seeds = [int(s) for s in hyper["dropout_seeds"].split(",")]
        layers.insert(4, PhiloxDropout(hyper["dropout"], seeds[1]))
        layers.insert(2, PhiloxDropout(hyper["dropout"], seeds[0]))
        names = {"0": "fc1", "3": "fc2", "6": "fc3"}
    model = torch.nn.Sequential(*layers).to(F64)
    params = {names[k.split(".")[0]] + "." + k.split(".")[1]: p for k, p in model.named_parameters()}
    x = torch.randn(batch, 20, dtype=F64)
    if loss_name == "cross-entropy":
        target = torch.randint(0, 5, (batch,))
        criterion = torch.nn.functional.cross_entropy
        tensors = {"x": x, "labels": target.to(torch.int32)}
    else:
        target = torch.randn(batch, 5, dtype=F64)
        criterion = torch.nn.functional.mse_loss
        tensors = {"x": x, "targets": target}
    tensors.update({k: p.detach().clone() for k, p in params.items()})
    opt = make(model.parameters())
    schedule = SCHEDULES[hyper["schedule"]](opt) if "schedule" in hyper else None
    for step in range(1, 11):
        opt.zero_grad()
        out = model(x)
        loss = criterion(out, target)
        loss.backward()
        if step == 1:
            tensors["output"] = out.detach().clone()
            tensors["loss"] = loss.detach().reshape(1).clone()
            tensors.update({"grad." + k: p.grad.detach().clone() for k, p in params.items()})
        if "clip_grad_norm" in hyper:
            torch.nn.utils.clip_grad_norm_(model.parameters(), hyper["clip_grad_norm"])
        if "clip_grad_value" in hyper:
            torch.nn.utils.clip_grad_value_(model.parameters(), hyper["clip_grad_value"])
        opt.step()
        if schedule is not None:
            schedule.step()
        if step in (1, 10):
            tensors.update({f"step{step}." + k: p.detach().clone() for k, p in params.items()})
    metadata = {"activation": activation, "loss": loss_name, "optimizer": optimizer_name, "batch": batch,
                "seed": seed, "torch": torch.__version__, **hyper}
    file_activation = activation.replace(":", "")
    write(f"mlp-{file_activation}-{loss_name}-{optimizer_name}-{batch}.safetensors", tensors, metadata)


def optimizers():
    p0 = torch.tensor([0.5, -1.25, 2.0, 0.0, -0.125], dtype=F64)
    grads = torch.tensor([[0.1, -0.2, 0.3, -0.4, 0.0], [-0.05, 0.5, 0.25, 1.5, -2.0], [1.0, 1.0, -1.0, 0.01, 0.3]], dtype=F64)
    cases = {
        "adam": (lambda ps: torch.optim.Adam(ps, lr=0.01), None),
        "adam-betas-eps-wd": (lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1), None),
        "adamw": (lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1), None),
        "adam-amsgrad": (lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True), None),
        "adamw-amsgrad": (lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1, amsgrad=True), None),
        "sgd": (lambda ps: torch.optim.SGD(ps, lr=0.1), None),
        "sgd-momentum-dampening-wd": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01), None),
        "sgd-nesterov-wd": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), None),
        "adam-lr-schedule": (lambda ps: torch.optim.Adam(ps, lr=0.01), [0.01, 0.03, 0.005]),
        "sgd-momentum-lr-schedule": (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), [0.1, 0.3, 0.05]),
    }
    tensors = {"start": p0, "grads": grads}
    for name, (make, rates) in cases.items():
        p = torch.nn.Parameter(p0.clone())
        opt = make([p])
        for i, g in enumerate(grads):
            if rates is not None:
                for group in opt.param_groups:
                    group["lr"] = rates[i]
            opt.zero_grad()
            p.grad = g.clone()
            opt.step()
        tensors[name] = p.detach().clone()
        if rates is not None:
            tensors[name + ".rates"] = torch.tensor(rates, dtype=F64)
    write("optimizers.safetensors", tensors, {"torch": torch.__version__})


def param_groups():
    """Two parameter groups (3 and 2 elements): the second with a learning rate and weight decay of its own."""
    torch.manual_seed(23)
    start = torch.randn(5, dtype=F64)
    grads = torch.randn(8, 5, dtype=F64)
    tensors = {"start": start, "grads": grads}
    cases = {
        "sgd-momentum": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9),
        "adam": lambda groups: torch.optim.Adam(groups, lr=0.01),
        "adamw-amsgrad": lambda groups: torch.optim.AdamW(groups, lr=0.01, amsgrad=True),
    }
    for name, make in cases.items():
        a, b = torch.nn.Parameter(start[:3].clone()), torch.nn.Parameter(start[3:].clone())
        opt = make([{"params": [a]}, {"params": [b], "lr": 0.02, "weight_decay": 0.05}])
        # Warm-up, then cosine to a floor: every group from its own initial rate to the same eta_min.
        schedule = S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=3),
                                         S.CosineAnnealingLR(opt, T_max=6, eta_min=0.005)], milestones=[3])
        rates = []
        for g in grads:
            rates.append([group["lr"] for group in opt.param_groups])
            opt.zero_grad()
            a.grad, b.grad = g[:3].clone(), g[3:].clone()
            opt.step()
            schedule.step()
        tensors[name] = torch.cat([a.detach(), b.detach()])
        tensors[name + ".rates"] = torch.tensor(rates, dtype=F64)
    write("param_groups.safetensors", tensors, {"torch": torch.__version__})


def skipped_parameters():
    """Three parameters (3, 2 and 2 elements) in two groups, stepped 6 times where only some have a gradient each
    time (grad None for the rest, as zero_grad leaves it): PyTorch skips those, moments, momentum and step counts alike."""
    torch.manual_seed(29)
    start = torch.randn(7, dtype=F64)
    grads = torch.randn(6, 7, dtype=F64)
    given = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 0, 0], [0, 1, 0], [1, 1, 1], [0, 0, 1]], dtype=torch.int64)
    tensors = {"start": start, "grads": grads, "given": given}
    cases = {
        "adam-wd": lambda groups: torch.optim.Adam(groups, lr=0.01, weight_decay=0.1),
        "adamw-amsgrad": lambda groups: torch.optim.AdamW(groups, lr=0.01, weight_decay=0.1, amsgrad=True),
        "sgd-momentum-dampening-wd": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
        "sgd-nesterov-wd": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    }
    spans = [(0, 3), (3, 5), (5, 7)]
    for name, make in cases.items():
        params = [torch.nn.Parameter(start[a:b].clone()) for a, b in spans]
        opt = make([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}])
        for step in range(len(grads)):
            # PyTorch 2's default; 1.13's zero_grad() would fill zeros, which are stepped on.
            opt.zero_grad(set_to_none=True)
            for p, (a, b), g in zip(params, spans, given[step]):
                if g:
                    p.grad = grads[step, a:b].clone()
            opt.step()
        tensors[name] = torch.cat([p.detach() for p in params])
        if name.startswith("adam"):
            tensors[name + ".steps"] = torch.tensor([int(opt.state[p]["step"]) for p in params], dtype=torch.int64)
    write("skipped_parameters.safetensors", tensors, {"torch": torch.__version__})


def schedules():
    tensors = {}
    for name, make in SCHEDULES.items():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=F64))], lr=0.1)
        schedule = make(opt)
        rates = [opt.param_groups[0]["lr"]]
        for _ in range(40):
            opt.step()
            schedule.step()
            rates.append(opt.param_groups[0]["lr"])
        tensors[name] = torch.tensor(rates, dtype=F64)
    write("schedules.safetensors", tensors, {"torch": torch.__version__, "lr": 0.1, "epochs": 40})


def clipping():
    torch.manual_seed(11)
    grads = [torch.randn(5, 7, dtype=F64), torch.randn(7, dtype=F64) * 0.01, torch.randn(3, 5, dtype=F64)]
    grads[2][1, 3] = 1e3
    tensors = {f"grad.{i}": g for i, g in enumerate(grads)}
    for name, clip in {"norm-1": lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1.0),
                       "norm-10000": lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1e4),
                       "norm-0": lambda ps: torch.nn.utils.clip_grad_norm_(ps, 0.0),
                       "value-0.3": lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.3)}.items():
        ps = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        norm = clip(ps)
        if norm is not None:
            tensors[name + ".norm"] = norm.detach().reshape(1)
        tensors.update({f"{name}.grad.{i}": p.grad for i, p in enumerate(ps)})
    write("clipping.safetensors", tensors, {"torch": torch.__version__})


def dropout():
    torch.manual_seed(13)
    x = torch.randn(7, 9, dtype=F64, requires_grad=True)
    dy = torch.randn(7, 9, dtype=F64)
    tensors = {"x": x.detach(), "dy": dy}
    cases = {}
    # Probabilities from rare to almost all dropped; seeds and counts that use every word of the key and counter.
    for i, (p, seed, call) in enumerate([(0.1, 1, 0), (0.5, 0x0123456789ABCDEF, 1), (0.5, 0x0123456789ABCDEF, 2),
                                         (0.9, 0xFFFFFFFFFFFFFFFF, (1 << 32) + 5), (1.0, 7, 3)]):
        noise = dropout_noise(seed, call, p, x.detach())
        x.grad = None
        y = x * noise
        y.backward(dy)
        tensors[f"{i}.y"] = y.detach()
        tensors[f"{i}.dx"] = x.grad.clone()
        cases[str(i)] = f"{p},{seed},{call}"
    write("dropout.safetensors", tensors, {"torch": torch.__version__, **cases})


def layer_norm():
    torch.manual_seed(19)
    tensors, cases = {}, {}
    # 33 features: a warp's 32 lanes and one more; 40 in a 3-d input; a row of one constant value (variance 0); rows
    # far from zero (mean 1000, spread 1), where a one-pass variance (E[x^2] - E[x]^2) would lose ten digits in float64
    # and all but one in float32.
    far = 1000 + torch.randn(4, 33, dtype=F64)
    for name, (x, affine, eps) in {"affine": (torch.randn(7, 33, dtype=F64), True, 1e-5),
                                   "plain": (torch.randn(7, 33, dtype=F64), False, 1e-5),
                                   "3d-eps": (torch.randn(2, 3, 40, dtype=F64), True, 1e-3),
                                   "constant-row": (torch.cat([torch.full((1, 33), 2.5, dtype=F64), torch.randn(2, 33, dtype=F64)]), True, 1e-5),
                                   "far-from-zero": (far, True, 1e-5)}.items():
        norm = torch.nn.LayerNorm(x.shape[-1], eps=eps, elementwise_affine=affine).to(F64)
        if affine:
            with torch.no_grad():
                norm.weight.copy_(1 + 0.5 * torch.randn(x.shape[-1], dtype=F64))
                norm.bias.copy_(0.5 * torch.randn(x.shape[-1], dtype=F64))
            tensors[name + ".weight"] = norm.weight.detach().clone()
            tensors[name + ".bias"] = norm.bias.detach().clone()
        x = x.clone().requires_grad_(True)
        dy = torch.randn(x.shape, dtype=F64)
        y = norm(x)
        y.backward(dy)
        tensors.update({name + ".x": x.detach(), name + ".dy": dy, name + ".y": y.detach(), name + ".dx": x.grad})
        if affine:
            tensors[name + ".dweight"] = norm.weight.grad
            tensors[name + ".dbias"] = norm.bias.grad
        cases[name] = str(eps)
    write("layernorm.safetensors", tensors, {"torch": torch.__version__, **cases})


def regression():
    """A regression as a user runs it: a CSV file, then an MLP trained on its rows in file order with MSELoss."""
    torch.manual_seed(29)
    x = (torch.rand(100, 3) * 4 - 2).float()
    y = (torch.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2] + 0.1 * torch.randn(100)).float()
    path = os.path.join(HERE, "regression.csv")
    with open(path + ".tmp", "w") as f:
        f.write("x1,x2,target,x3\n")  # the target between features, as a real file may have it
        for row, value in zip(x.tolist(), y.tolist()):
            f.write(f"{row[0]:.9g},{row[1]:.9g},{value:.9g},{row[2]:.9g}\n")
    os.replace(path + ".tmp", path)
    # The CSV's values, as float32 parses them, in float64 from here on.
    data = [[float(c) for c in line.split(",")] for line in open(path).read().splitlines()[1:]]
    features = torch.tensor([[r[0], r[1], r[3]] for r in data], dtype=torch.float32).to(F64)
    targets = torch.tensor([[r[2]] for r in data], dtype=torch.float32).to(F64)
    model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).to(F64)
    names = {"0": "fc1", "2": "fc2"}
    params = {names[k.split(".")[0]] + "." + k.split(".")[1]: p for k, p in model.named_parameters()}
    tensors = {k: p.detach().clone() for k, p in params.items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for epoch in range(3):
        total = 0.0
        for start in range(0, 100, 16):
            xb, yb = features[start:start + 16], targets[start:start + 16]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        losses.append(total / 100)
    with torch.no_grad():
        mse = torch.nn.functional.mse_loss(model(features), targets).item()
    tensors.update({"after." + k: p.detach().clone() for k, p in params.items()})
    tensors["train_loss"] = torch.tensor(losses, dtype=F64)
    tensors["mse"] = torch.tensor([mse], dtype=F64)
    write("regression.safetensors", tensors, {"torch": torch.__version__, "csv": "regression.csv", "target": "target",
                                              "batch": 16, "epochs": 3, "lr": 0.05, "momentum": 0.9})


def activations():
    # Both signs, zero, the tails where erf and exp saturate, and a dense sweep between.
    x = torch.cat([torch.linspace(-12, 12, 97, dtype=F64), torch.tensor([0.0, -1e-3, 1e-3, -30.0, 30.0, -700.0], dtype=F64)])
    torch.manual_seed(17)
    dy = torch.randn(x.shape, dtype=F64)
    tensors = {"x": x, "dy": dy}
    for name, make in ACTIVATIONS.items():
        xg = x.clone().requires_grad_(True)
        y = make()(xg)
        y.backward(dy)
        tensors[name + ".y"] = y.detach()
        tensors[name + ".dx"] = xg.grad
    write("activations.safetensors", tensors, {"torch": torch.__version__})


def losses():
    z = torch.tensor([[2.0, -1.0, 0.5, 0.0], [0.1, 0.2, 0.3, 0.4], [1000.0, 0.0, -1000.0, 999.0]], dtype=F64, requires_grad=True)
    labels = torch.tensor([0, 3, 3])
    loss = torch.nn.functional.cross_entropy(z, labels)
    loss.backward()
    torch.manual_seed(7)
    pred = torch.randn(4, 3, dtype=F64, requires_grad=True)
    target = torch.randn(4, 3, dtype=F64)
    mse = torch.nn.functional.mse_loss(pred, target)
    mse.backward()
    write("losses.safetensors", {
        "ce.logits": z.detach(), "ce.labels": labels.to(torch.int32), "ce.loss": loss.detach().reshape(1), "ce.grad": z.grad,
        "mse.pred": pred.detach(), "mse.target": target, "mse.loss": mse.detach().reshape(1), "mse.grad": pred.grad,
    }, {"torch": torch.__version__})


def distributed_sampler():
    from torch.utils.data.distributed import DistributedSampler
    tensors = {}
    for count, replicas in [(10, 3), (7, 4), (2, 3), (12, 4), (5, 1), (1, 5)]:
        for rank in range(replicas):
            sampler = DistributedSampler(range(count), num_replicas=replicas, rank=rank, shuffle=False, drop_last=False)
            tensors[f"{count}-{replicas}.rank{rank}"] = torch.tensor(list(sampler), dtype=torch.int32)
    write("distributed_sampler.safetensors", tensors, {"torch": torch.__version__})


if __name__ == "__main__":
    for i, (activation, loss_name, optimizer_name, batch) in enumerate(MLPS):
        mlp(activation, loss_name, optimizer_name, batch, seed=1000 + i)
    optimizers()
    param_groups()
    skipped_parameters()
    schedules()
    clipping()
    dropout()
    activations()
    layer_norm()
    regression()
    losses()
    distributed_sampler()
    print("wrote", sorted(f for f in os.listdir(HERE) if f.endswith(".safetensors")))
