"""Epoch time and accuracy: the course's C LeNet-5 (cc -O2) vs its PyTorch port.

Examples (results in benchmarks/lenet/RESULTS.md):

    python benchmarks/lenet/bench_lenet.py --impl c torch --data digits --epochs 10
    python benchmarks/lenet/bench_lenet.py --impl torch --data aug60k --epochs 3 --batch 256
    python benchmarks/lenet/bench_lenet.py --impl torch --device cuda --data aug60k \
        --batch 256 1024 4096 --epochs 5 --mode eager graph

Prints one JSON object per configuration (one line each) and, with --out, appends them
to a JSON-lines file. The recipe is the fixed C program's: cross-entropy, plain SGD
with learning rate ALPHA (0.1) on the batch mean, same architecture (51,902 weights),
float32 in PyTorch, float64 in C. ``--mode graph`` (CUDA only) captures the whole
training step (forward, backward, optimiser) in a CUDA graph and keeps the data on the
GPU, which removes the per-kernel launch overhead that dominates a step this small.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np


def machine() -> dict:
    import torch

    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info


def get_data(name: str, n_augmented: int = 60000):
    from infoloss.clenet import cache_dir
    from infoloss.mnistlike import write_mnist_like

    if name == "digits":
        return write_mnist_like(cache_dir() / "mnistlike")
    if name == "aug60k":
        return write_mnist_like(cache_dir() / "mnistlike", n_augmented=n_augmented, seed=0)
    raise SystemExit(f"unknown data set {name!r}: use digits or aug60k")


def bench_c(files, epochs: int, batch: int, alpha: float, seed: int,
            train_acc: bool = False) -> dict:
    import resource

    from infoloss import clenet

    clenet.build("ce_fixed")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = clenet.train("ce_fixed", alpha=alpha, seed=seed, epochs=epochs, batch=batch,
                       data=files, eval_train=train_acc)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    secs = log.epoch_seconds
    # CPU seconds per epoch: robust to other load on a shared machine (includes the
    # per-epoch test evaluation, about 360 forward passes, and train evaluation if asked)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / epochs
    return {"impl": "c-O2", "device": "cpu", "threads": 1,
            "epoch_s_median": float(np.median(secs)), "epoch_s_all": secs,
            "epoch_cpu_s": cpu, "test_acc": log.final_acc,
            "train_acc": log.epochs[-1].get("train_acc")}


def make_lenet():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(), nn.Linear(120, 10))


def load_tensors(files, device):
    import torch

    from infoloss.idx import read_idx

    def imgs(p):
        x = read_idx(p).astype(np.float32)
        # per-image standardisation, as the C program does
        x = (x - x.mean(axis=(1, 2), keepdims=True)) / (x.std(axis=(1, 2), keepdims=True) + 1e-8)
        return torch.as_tensor(x[:, None], device=device)

    def labels(p):
        return torch.as_tensor(read_idx(p).astype(np.int64), device=device)

    return (imgs(files.train_images), labels(files.train_labels), imgs(files.test_images),
            labels(files.test_labels))


def accuracy(model, X, y, chunk=4096) -> float:
    import torch

    model.eval()
    right = 0
    with torch.inference_mode():
        for i in range(0, len(X), chunk):
            right += (model(X[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum().item()
    model.train()
    return right / len(X)


def bench_torch(files, epochs: int, batch: int, alpha: float, seed: int, device: str,
                mode: str, momentum: float, channels_last: bool) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    dev = torch.device(device)
    X, y, Xt, yt = load_tensors(files, dev)
    model = make_lenet().to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        X = X.contiguous(memory_format=torch.channels_last)
    loss_fn = nn.CrossEntropyLoss()
    kw = {"fused": True} if dev.type == "cuda" else {}
    opt = torch.optim.SGD(model.parameters(), lr=alpha, momentum=momentum, **kw)
    n_steps = len(X) // batch  # drop the last partial batch, as the C program does
    gen = torch.Generator(device="cpu").manual_seed(seed)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if mode == "graph":
        if dev.type != "cuda":
            raise SystemExit("--mode graph needs --device cuda")
        sx = torch.empty((batch, *X.shape[1:]), device=dev).copy_(X[:batch])
        sy = y[:batch].clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # warm-up: allocate grads and optimiser state
                opt.zero_grad(set_to_none=True)
                loss_fn(model(sx), sy).backward()
                opt.step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph):
            static_loss = loss_fn(model(sx), sy)
            static_loss.backward()
            opt.step()

        def step(idx):
            torch.index_select(X, 0, idx, out=sx)
            torch.index_select(y, 0, idx, out=sy)
            graph.replay()
    else:
        def step(idx):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()

    times, cpu = [], []
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=gen).to(dev)
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n_steps):
            step(perm[i * batch:(i + 1) * batch])
        sync()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"impl": f"torch-{mode}", "device": device,
            "threads": torch.get_num_threads() if dev.type == "cpu" else None,
            "channels_last": channels_last, "momentum": momentum,
            "epoch_s_median": float(np.median(times[1:] if len(times) > 1 else times)),
            "epoch_s_all": times, "epoch_cpu_s": float(np.median(cpu)),
            "test_acc": accuracy(model, Xt, yt),
            "train_acc": accuracy(model, X, y)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", nargs="+", default=["c", "torch"], choices=["c", "torch"])
    ap.add_argument("--device", default="cpu", help="cpu or cuda (torch only)")
    ap.add_argument("--data", nargs="+", default=["digits"], choices=["digits", "aug60k"])
    ap.add_argument("--batch", nargs="+", type=int, default=[300])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--mode", nargs="+", default=["eager"], choices=["eager", "graph"])
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--c-train-acc", action="store_true",
                    help="also measure the C program's training-set accuracy each epoch")
    ap.add_argument("--n-augmented", type=int, default=60000,
                    help="images in the aug60k set (default 60000; fewer for a quick check)")
    ap.add_argument("--out", default=None, help="append JSON lines here")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("--device cuda asked for, but torch sees no GPU", file=sys.stderr)
        return 2
    info = machine()
    rows = []
    for data in args.data:
        files = get_data(data, args.n_augmented)
        for batch in args.batch:
            for impl in args.impl:
                first = len(rows)  # every mode's row is printed, not only the last one
                if impl == "c":
                    res = bench_c(files, args.epochs, batch, args.alpha, args.seed,
                                  args.c_train_acc)
                    rows.append(res | {"data": data, "batch": batch, "epochs": args.epochs})
                else:
                    for mode in args.mode:
                        res = bench_torch(files, args.epochs, batch, args.alpha, args.seed,
                                          args.device, mode, args.momentum, args.channels_last)
                        rows.append(res | {"data": data, "batch": batch,
                                           "epochs": args.epochs})
                for new in rows[first:]:
                    row = new | {"machine": info}
                    if data == "aug60k":
                        row["n_augmented"] = args.n_augmented
                    print(json.dumps(row), flush=True)
                    if args.out:
                        with open(args.out, "a") as f:
                            f.write(json.dumps(row) + "\n")
    c_times = {(r["data"], r["batch"]): r["epoch_s_median"] for r in rows if r["impl"] == "c-O2"}
    for r in rows:
        ref = c_times.get((r["data"], r["batch"]))
        if ref and r["impl"] != "c-O2":
            cref = next(x["epoch_cpu_s"] for x in rows if x["impl"] == "c-O2"
                        and (x["data"], x["batch"]) == (r["data"], r["batch"]))
            print(json.dumps({"speedup_vs_c": ref / r["epoch_s_median"],
                              "cpu_time_ratio_c_over_torch": cref / r["epoch_cpu_s"],
                              "impl": r["impl"],
                              "device": r["device"], "data": r["data"], "batch": r["batch"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
