"""Timings for chapters 6-7 and problem sets ps03-ps04 (issue 4, first half).

Measures, on whatever machine runs it:

* each chapter's execution (a fresh kernel running every cell, as the book build does);
* each problem set graded with stock ``nbgrader autograde`` (solution notebook), wall
  time and the CPU time of the nbgrader and kernel processes;
* the training runs of chapter 6 and ps03 (CE and MSE, default and saturated start, and
  chapter 6's control: MSE with a ten times larger learning rate) on ``pick_device()``.

Usage: ``.venv/bin/python benchmarks/losses_in_practice.py [--skip-grading]``. Prints a
Markdown table; paste it into ``benchmarks/losses_in_practice.md`` with the machine.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ["book/06_ce_vs_mse.md", "book/07_softmax_stability.md"]
ASSIGNMENTS = ["ps03_ce_vs_mse", "ps04_stability"]


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_chapter(path: str) -> tuple[float, float]:
    """Wall seconds to execute every cell of a chapter in a fresh kernel, and kernel CPU s."""
    import jupytext
    import psutil
    from nbclient import NotebookClient

    nb = jupytext.read(ROOT / path)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "book")}})
    with client.setup_kernel():
        kernel = psutil.Process(client.km.provisioner.process.pid)
        start = time.perf_counter()
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, i)
        wall = time.perf_counter() - start
        cpu = kernel.cpu_times()
        return wall, cpu.user + cpu.system


def time_grading(name: str) -> tuple[float, float, float, float]:
    """Wall and CPU seconds of a stock autograde of the solution; its score and max score."""
    from autograder import SOLUTIONS
    from autograder.stock import autograde_stock

    cpu0, start = _child_cpu(), time.perf_counter()
    result = autograde_stock(name, SOLUTIONS / name / f"{name}.ipynb")
    return time.perf_counter() - start, _child_cpu() - cpu0, result.score, result.max_score


def time_training() -> list[tuple[str, float, float, str]]:
    """The chapter 6 / ps03 comparison: (run, seconds, final test accuracy, device)."""
    import torch
    import torch.nn.functional as F

    from infoloss.device import digits_tensors, pick_device, seed_everything

    torch.set_num_threads(1)
    device = pick_device()
    X, y, Xt, yt = digits_tensors(device)

    def mse(logits, labels):
        p = torch.softmax(logits, 1)
        return 0.5 * ((p - F.one_hot(labels, 10).to(p.dtype)) ** 2).sum(1).mean()

    rows = []
    for scale in (1.0, 20.0):
        for name, loss_fn, lr in (("CE", F.cross_entropy, 0.5), ("MSE", mse, 0.5),
                                  ("MSE, 10x lr", mse, 5.0)):
            seed_everything(0)
            model = torch.nn.Linear(64, 10)
            with torch.no_grad():
                model.weight.mul_(scale)
                model.bias.mul_(scale)
            model.to(device)
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(150):
                opt.zero_grad()
                loss_fn(model(X), y).backward()
                opt.step()
                with torch.no_grad():
                    acc = (model(Xt).argmax(1) == yt).float().mean().item()
            rows.append((f"{name}, init x{scale:g}", time.perf_counter() - start, acc,
                         str(device)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-grading", action="store_true")
    parser.add_argument("--skip-chapters", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, "
          f"{len(__import__('os').sched_getaffinity(0))} CPU(s) available\n")
    if not args.skip_chapters:
        print("| chapter | execution wall (s) | kernel CPU (s) |\n|---|---|---|")
        for ch in CHAPTERS:
            wall, cpu = time_chapter(ch)
            print(f"| {ch} | {wall:.1f} | {cpu:.1f} |")
        print()
    if not args.skip_grading:
        print("| assignment | grading wall (s) | grading CPU (s) | score |\n|---|---|---|---|")
        for name in ASSIGNMENTS:
            wall, cpu, score, max_score = time_grading(name)
            print(f"| {name} | {wall:.1f} | {cpu:.1f} | {score:g} / {max_score:g} |")
        print()
    print("| training run (150 epochs) | seconds | final test accuracy | device |")
    print("|---|---|---|---|")
    for run, seconds, acc, device in time_training():
        print(f"| {run} | {seconds:.2f} | {acc:.3f} | {device} |")


if __name__ == "__main__":
    main()
