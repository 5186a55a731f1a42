"""Every GPU step of issue 18 in one run: CUDA tests, solutions and grading on CUDA, the
sandbox with the GPU, LeNet epoch times. Started by ``run_gpu_checks.sh`` (see README.md).

Each step is independent (its own subprocesses and timeouts; a failure is recorded and
the next step runs). Results go to ``$OUT`` (default ``benchmarks/gpu/out``):
``results.json`` (rewritten after every step), ``summary.md`` (ready to paste into
``benchmarks/lenet/RESULTS.md``), ``lenet.jsonl`` and ``log.txt`` (from the shell wrapper).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
NO_CUDA = "no CUDA device: torch.cuda.is_available() is False on this machine"
CPU_SCORES: dict[str, float] = {}  # the solution's score with CUDA hidden (step grade_cuda)
COURSES: dict[str, Path] = {}  # grade_cuda's course folders (their CPU reference is cached)
BIG_MEMORY = 2**40  # --memory for grading runs that must not be limited (step grade_cuda)


def out_dir() -> Path:
    d = Path(os.environ.get("OUT") or ROOT / "benchmarks" / "gpu" / "out")
    d.mkdir(parents=True, exist_ok=True)
    return d


def sh(cmd: list[str], timeout: float, env: dict | None = None, cwd: Path | None = None
       ) -> tuple[int, str, float]:
    """Run ``cmd``; return (exit status, stdout+stderr, seconds). 124 on timeout."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd or ROOT, env=env, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout + p.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"") + (e.stderr or b"")
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        return 124, text + f"\n[timed out after {timeout:.0f} s]", time.monotonic() - t0
    except OSError as e:
        return 127, repr(e), time.monotonic() - t0


def env_with(**changes: str | None) -> dict:
    env = dict(os.environ)
    env.pop("INFOLOSS_DEVICE", None)  # pick_device must choose by itself
    env["PYTHONUNBUFFERED"] = "1"
    env["MPLBACKEND"] = "Agg"
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def tail(text: str, n: int = 1500) -> str:
    return text[-n:]


def cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


class GpuSampler:
    """Samples nvidia-smi's compute processes while a step runs: evidence that it used CUDA."""

    def __init__(self) -> None:
        self.max_procs, self.max_mib, self._stop = 0, 0, threading.Event()
        self.ok = shutil.which("nvidia-smi") is not None

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            code, text, _ = sh(["nvidia-smi", "--query-compute-apps=pid,used_memory",
                                "--format=csv,noheader,nounits"], 10)
            if code:
                continue
            rows = [r for r in text.splitlines() if r.strip()]
            self.max_procs = max(self.max_procs, len(rows))
            mib = sum(int(m) for r in rows for m in re.findall(r",\s*(\d+)", r))
            self.max_mib = max(self.max_mib, mib)

    def __enter__(self):
        if self.ok:
            self._t = threading.Thread(target=self._loop, daemon=True)
            self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()

    def report(self) -> dict:
        if not self.ok:
            return {"nvidia_smi": False}
        return {"gpu_procs_seen_max": self.max_procs, "gpu_mib_seen_max": self.max_mib}


# ----------------------------------------------------------------------------- steps

def step_gpu_info(args) -> dict:
    import torch

    info = {"python": PY, "python_version": sys.version.split()[0], "torch": torch.__version__,
            "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
            "cpu_cores": os.cpu_count(), "bwrap": shutil.which("bwrap")}
    for mod in ("nbformat", "nbgrader", "IPython", "ipykernel", "jupytext"):
        try:
            __import__(mod)
            info[f"has_{mod}"] = True
        except Exception as e:  # noqa: BLE001
            info[f"has_{mod}"] = f"missing: {e!r}"
    if shutil.which("nvidia-smi"):
        code, text, _ = sh(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                            "clocks.sm,clocks.max.sm", "--format=csv,noheader"], 30)
        info["nvidia_smi"] = text.strip() if code == 0 else f"exit {code}: {tail(text, 300)}"
        if code == 0:
            parts = [x.strip() for x in text.splitlines()[0].split(",")]
            info["gpu"], info["driver"] = parts[0], parts[1]
    else:
        info["nvidia_smi"] = "not found"
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info |= {"torch_gpu": p.name, "sms": p.multi_processor_count,
                 "gpu_mem_gib": round(p.total_memory / 2**30, 1),
                 "capability": f"{p.major}.{p.minor}"}
        return {"status": "ok", "data": info}
    return {"status": "failed", "reason": NO_CUDA + f"; nvidia-smi: {info['nvidia_smi']}",
            "data": info}


def step_pytest_gpu(args) -> dict:
    xml = out_dir() / "pytest_gpu.xml"
    code, text, secs = sh([PY, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                           "tests/test_gpu.py", f"--junitxml={xml}"], 300, env_with())
    tests = {}
    if xml.exists():
        for case in ET.parse(xml).iter("testcase"):
            kids = {c.tag: (c.get("message") or "") for c in case}
            outcome = ("failed" if "failure" in kids or "error" in kids else
                       "skipped" if "skipped" in kids else "passed")
            why = kids.get("failure") or kids.get("error") or kids.get("skipped") or ""
            tests[case.get("name")] = outcome + (f": {why[:300]}" if outcome != "passed" else "")
    data = {"exit": code, "seconds": round(secs, 1), "tests": tests, "tail": tail(text, 800)}
    outcomes = [v.split(":")[0] for v in tests.values()]
    if tests and all(o == "skipped" for o in outcomes):
        return {"status": "skipped", "reason": "all CUDA tests skipped: " + NO_CUDA, "data": data}
    if code == 0 and tests and all(o == "passed" for o in outcomes):
        return {"status": "ok", "data": data}
    return {"status": "failed", "reason": f"pytest exit {code}; " + ", ".join(
        f"{k}={v.split(':')[0]}" for k, v in tests.items()), "data": data}


WRAPPER = r"""
import json, runpy, sys, time
t0 = time.perf_counter()
status = "error"
try:
    runpy.run_path(sys.argv[1], run_name="__main__")
    status = "ok"
finally:
    info = {"status": status, "seconds": round(time.perf_counter() - t0, 2)}
    try:
        import torch
        info["cuda_available"] = torch.cuda.is_available()
        used = torch.cuda.is_initialized() and torch.cuda.max_memory_allocated() or 0
        info["cuda_max_bytes"] = int(used)
    except Exception as e:
        info["torch"] = repr(e)
    print("GPUCHECK " + json.dumps(info), flush=True)
"""


def assignments(args) -> list[str]:
    names = sorted(p.name for p in (ROOT / "solutions").iterdir()
                   if re.match(r"ps\d\d_", p.name) and (p / f"{p.name}.py").exists())
    if args.quick:
        names = [n for n in names if n.startswith(("ps01", "ps04"))]
    if args.assignments:
        names = [n for n in names if n in args.assignments]
    return names


def uses_torch(name: str) -> bool:
    return "torch" in (ROOT / "solutions" / name / f"{name}.py").read_text()


def step_solutions(args) -> dict:
    """Each solution's .py (jupytext twin of the notebook) run with CUDA visible."""
    names = assignments(args)

    def one(name: str) -> dict:
        with tempfile.TemporaryDirectory(prefix=f"gpucheck-{name}-") as tmp:
            code, text, secs = sh([PY, "-c", WRAPPER, str(ROOT / "solutions" / name /
                                                          f"{name}.py")],
                                  args.timeout_solution, env_with(), cwd=Path(tmp))
        m = re.findall(r"^GPUCHECK (.*)$", text, re.M)
        info = json.loads(m[-1]) if m else {}
        row = {"exit": code, "seconds": round(secs, 1), "torch": uses_torch(name)} | info
        if code != 0:
            row["tail"] = tail(text, 600)
        return row

    with ThreadPoolExecutor(max_workers=min(len(names), args.jobs) or 1) as ex:
        rows = dict(zip(names, ex.map(one, names), strict=True))
    data = {"solutions": rows}
    broken = [n for n, r in rows.items() if r["exit"] != 0]
    if broken:
        return {"status": "failed", "reason": f"solutions failing: {broken}", "data": data}
    not_on_gpu = [n for n, r in rows.items() if r["torch"] and not r.get("cuda_max_bytes")]
    if not cuda_available():
        return {"status": "failed", "reason": f"all {len(rows)} ran, on the CPU: " + NO_CUDA,
                "data": data}
    if not_on_gpu:
        return {"status": "failed", "reason": f"torch solutions that allocated nothing on "
                f"CUDA: {not_on_gpu}", "data": data}
    return {"status": "ok", "data": data}


SUMMARY = re.compile(r"^(\S+)\s+([\d.]+)/([\d.]+)\s+(\S+)\s*$", re.M)


def grade(name: str, subs: Path, course: Path, timeout: float, extra: list[str],
          env: dict) -> dict:
    with GpuSampler() as sampler:
        code, text, secs = sh([PY, "-m", "autograder", "grade", name, str(subs), "--course",
                               str(course), *extra], timeout, env)
    rows = {m[0]: {"score": float(m[1]), "max": float(m[2]), "status": m[3]}
            for m in SUMMARY.findall(text) if m[0] != "student"}
    res = {"exit": code, "seconds": round(secs, 1), "submissions": rows} | sampler.report()
    if code != 0 or not rows:
        res["tail"] = tail(text, 1200)
    return res


def submissions(tmp: Path, name: str, copies: int) -> Path:
    subs = tmp / "subs"
    for i in range(copies):
        d = subs / f"solution{i + 1}"
        d.mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / name / f"{name}.ipynb", d / f"{name}.ipynb")
    return subs


def step_grade_cuda(args) -> dict:
    """Grade each solution twice into one course folder: first with CUDA hidden (the
    reference answers are computed and cached on the CPU), then with CUDA visible (the
    cached CPU reference judges a CUDA run): the judge's cross-device comparison. No
    sandbox and no memory limit here (the sandbox is step grade_sandboxed)."""
    names = assignments(args)
    work = Path(tempfile.mkdtemp(prefix="gpucheck-grade-"))
    common = ["--no-sandbox", "--memory", str(BIG_MEMORY), "--workers", "1"]

    def one(name: str) -> dict:
        tmp = work / name
        subs = submissions(tmp, name, 1)
        cpu = grade(name, subs, tmp / "course", args.timeout_grade, common,
                    env_with(CUDA_VISIBLE_DEVICES=""))
        gpu = grade(name, subs, tmp / "course", args.timeout_grade, common, env_with())
        COURSES[name] = tmp / "course"
        return {"cpu": cpu, "cuda": gpu}

    with ThreadPoolExecutor(max_workers=min(len(names), args.jobs) or 1) as ex:
        rows = dict(zip(names, ex.map(one, names), strict=True))
    stock = stock_grades(args, names) if args.stock else {"skipped": "use --stock"}
    data = {"grades": rows, "stock_nbgrader": stock, "course_folders": str(work)}
    problems = []
    for name, r in rows.items():
        got = {}
        for side in ("cpu", "cuda"):
            s = r[side]["submissions"].get("solution1")
            if r[side]["exit"] != 0 or not s:
                problems.append(f"{name} {side}: grade exit {r[side]['exit']}")
            elif s["status"] != "ok":
                problems.append(f"{name} {side}: status {s['status']}")
            else:
                got[side] = s["score"]
        if len(got) == 2:
            CPU_SCORES[name] = got["cpu"]
            r["same_score"] = got["cpu"] == got["cuda"]
            if not r["same_score"]:
                problems.append(f"{name}: CPU {got['cpu']} but CUDA {got['cuda']}")
    data["note"] = ("max includes the points graded by hand (markdown answers), which the "
                    "autograder leaves at 0: the solution's full autograded marks are below max")
    if problems:
        return {"status": "failed", "reason": "; ".join(problems), "data": data}
    if not cuda_available():
        return {"status": "failed", "reason": "scores equal, but both runs were on the CPU: "
                + NO_CUDA, "data": data}
    return {"status": "ok", "data": data}


def stock_grades(args, names: list[str]) -> dict:
    code = ("import json, sys; from pathlib import Path; from autograder.stock import "
            "autograde_stock as a; from autograder import SOLUTIONS; n = sys.argv[1]; "
            "r = a(n, SOLUTIONS / n / (n + '.ipynb')); print('STOCK', json.dumps("
            "[r.score, r.max_score]))")
    out = {}
    for name in names:
        c, text, secs = sh([PY, "-c", code, name], args.timeout_grade, env_with())
        m = re.findall(r"^STOCK (.*)$", text, re.M)
        out[name] = ({"score": json.loads(m[-1]), "seconds": round(secs, 1)} if m else
                     {"exit": c, "tail": tail(text, 600)})
    return out


PROBE = r"""
import json, os, resource
info = {"RLIMIT_AS": resource.getrlimit(resource.RLIMIT_AS)[0],
        "dev_nvidia": sorted(p for p in os.listdir("/dev") if p.startswith("nvidia"))}
try:
    import torch
    info["cuda_available"] = torch.cuda.is_available()
    if info["cuda_available"]:
        x = torch.randn(1024, 1024, device="cuda")
        conv = torch.nn.Conv2d(1, 6, 5).cuda()
        y = conv(torch.randn(64, 1, 28, 28, device="cuda"))
        torch.cuda.synchronize()
        info["cuda_work"] = f"ok: matmul {float((x @ x).abs().mean()):.3f}, conv {tuple(y.shape)}"
        info["gpu"] = torch.cuda.get_device_name()
except Exception as e:
    info["error"] = repr(e)[:500]
print("PROBE " + json.dumps(info), flush=True)
"""


def _rlimits_preexec(sb, limits):
    """The grader's rlimit fallback (RLIMIT_AS and the rest), set in the child; a plain
    single-threaded script, so preexec_fn is safe here."""
    import resource

    def apply():
        for which, value in sb.rlimits(limits):
            resource.setrlimit(which, (value, value))
    return apply


def step_sandbox_gpu(args) -> dict:
    """The jail as the grader builds it (autograder.sandbox): GPU visible? CUDA under
    RLIMIT_AS? Three variants: no limit/no jail, the limit alone, jail + limit."""
    from autograder import sandbox as sb
    from autograder.spec import load_spec

    memory = sb.Limits().memory
    spec = load_spec("ps06_lenet")
    if spec is not None and "memory" in spec.limits:
        memory = spec.limits["memory"]
    rows = {}
    for label, jail, limit in (("plain", False, None), ("rlimit_as", False, memory),
                               ("jail+rlimit_as", True, memory), ("jail", True, None)):
        scratch = Path(tempfile.mkdtemp(prefix="gpucheck-jail-"))
        for sub in ("home", "job", "out"):
            (scratch / sub).mkdir()
            os.chmod(scratch / sub, 0o777)
        cmd = [PY, "-c", PROBE]
        if jail:
            if not sb.bwrap_path():
                rows[label] = {"error": "bwrap not found"}
                continue
            cmd = sb.bwrap_argv(scratch) + cmd
        limits = sb.Limits(memory=limit or BIG_MEMORY)
        env = sb._env(jail, scratch, limits, 2)
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                               preexec_fn=_rlimits_preexec(sb, limits) if limit else None,
                               cwd=scratch / "home")
            text, code = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired:
            text, code = "timeout", 124
        m = re.findall(r"^PROBE (.*)$", text, re.M)
        rows[label] = (json.loads(m[-1]) if m else {"exit": code, "tail": tail(text, 600)}) | {
            "seconds": round(time.monotonic() - t0, 1), "memory_limit": limit}
        shutil.rmtree(scratch, ignore_errors=True)
    data = {"variants": rows, "grader_memory_limit": memory}
    bad = [k for k, r in rows.items() if not str(r.get("cuda_work", "")).startswith("ok")]
    if not cuda_available():
        return {"status": "failed", "reason": NO_CUDA + "; jail ran: " + ", ".join(
            f"{k}: {'/dev/nvidia*=' + str(len(r.get('dev_nvidia', [])))}" if "dev_nvidia" in r
            else f"{k}: {r.get('error') or r.get('exit')}" for k, r in rows.items()),
            "data": data}
    if bad:
        return {"status": "failed", "reason": f"CUDA does not work in: {bad}", "data": data}
    return {"status": "ok", "data": data}


def step_grade_sandboxed(args) -> dict:
    """ps06_lenet and ps02_divergence (ps01 with --quick) graded as for real: sandbox on,
    the assignment's own limits, one worker so that total / N is the per-submission time."""
    names = ["ps01_information"] if args.quick else ["ps06_lenet", "ps02_divergence"]
    work = Path(tempfile.mkdtemp(prefix="gpucheck-sandboxed-"))
    copies = 1 if args.quick else args.copies

    def one(name: str) -> dict:
        tmp = work / name
        subs = submissions(tmp, name, copies)
        # a warm reference cache, so that the timed run measures submissions only:
        # grade_cuda's course folder (CPU reference) when that step ran, else warm it here
        course = COURSES.get(name)
        ref = None
        if course is None:
            course = tmp / "course"
            ref = grade(name, submissions(tmp / "ref", name, 1), course, args.timeout_grade,
                        ["--workers", "1"], env_with())
        res = grade(name, subs, course, args.timeout_grade, ["--workers", "1"], env_with())
        res["per_submission_s"] = round(res["seconds"] / copies, 1)
        res["reference"] = ("CPU answers cached by grade_cuda" if ref is None else
                            {k: ref[k] for k in ("exit", "seconds", "submissions")})
        return res

    with ThreadPoolExecutor(max_workers=len(names)) as ex:
        rows = dict(zip(names, ex.map(one, names), strict=True))
    data = {"grades": rows, "copies": copies, "bwrap": shutil.which("bwrap")}
    problems = [f"{n}: exit {r['exit']}" for n, r in rows.items() if r["exit"] != 0]
    problems += [f"{n}/{s}: {v['score']}/{v['max']} {v['status']}" for n, r in rows.items()
                 for s, v in r["submissions"].items() if v["status"] != "ok"
                 or v["score"] != CPU_SCORES.get(n, v["score"])]
    if not shutil.which("bwrap"):
        problems.append("bwrap not found: graded WITHOUT the jail")
    if problems:
        return {"status": "failed", "reason": "; ".join(problems), "data": data}
    if not cuda_available():
        return {"status": "failed", "reason": "graded, on the CPU: " + NO_CUDA, "data": data}
    return {"status": "ok", "data": data}


def bench(cmd_args: list[str], timeout: float, jsonl: Path) -> tuple[int, str, list[dict]]:
    before = jsonl.read_text().splitlines() if jsonl.exists() else []
    code, text, _ = sh([PY, "benchmarks/lenet/bench_lenet.py", *cmd_args, "--out", str(jsonl)],
                       timeout, env_with())
    after = jsonl.read_text().splitlines() if jsonl.exists() else []
    return code, text, [json.loads(x) for x in after[len(before):]]


def short(r: dict) -> dict:
    keys = ("impl", "device", "data", "n_augmented", "batch", "epochs", "epoch_s_median",
            "epoch_s_all", "epoch_cpu_s", "test_acc", "train_acc", "threads")
    return {k: r.get(k) for k in keys if k in r}


def step_lenet_cuda(args) -> dict:
    jsonl = out_dir() / "lenet.jsonl"
    a = ["--impl", "torch", "--device", "cuda", "--data", "aug60k", "--mode", "eager",
         "graph", "--momentum", "0.9", "--alpha", "0.05"]
    a += (["--n-augmented", "2000", "--batch", "256", "--epochs", "1"] if args.quick else
          ["--batch", "256", "1024", "4096", "--epochs", str(args.epochs)])
    code, text, rows = bench(a, args.timeout_bench, jsonl)
    data = {"command": "python benchmarks/lenet/bench_lenet.py " + " ".join(a),
            "rows": [short(r) for r in rows], "exit": code}
    if code != 0 or not rows:
        reason = text.strip().splitlines()[-1] if text.strip() else f"exit {code}"
        return {"status": "failed", "reason": f"bench_lenet exit {code}: {reason}",
                "data": data | {"tail": tail(text, 800)}}
    best = min((r for r in rows if r["batch"] == 256), key=lambda r: r["epoch_s_median"],
               default=None)
    data["batch256_best_ms"] = best and round(1000 * best["epoch_s_median"], 1)
    data["aim_150ms_met"] = bool(best and best["epoch_s_median"] < 0.150)
    return {"status": "ok", "data": data}


def step_lenet_cpu(args) -> dict:
    """The C program and the CPU PyTorch port on the same data, batch 256: the ratio."""
    jsonl = out_dir() / "lenet.jsonl"
    a = ["--impl", "c", "torch", "--device", "cpu", "--data", "aug60k", "--batch", "256",
         "--momentum", "0.9", "--alpha", "0.05"]
    a += (["--n-augmented", "2000", "--epochs", "1"] if args.quick else
          ["--epochs", str(args.cpu_epochs)])
    code, text, rows = bench(a, args.timeout_bench, jsonl)
    data = {"command": "python benchmarks/lenet/bench_lenet.py " + " ".join(a),
            "rows": [short(r) for r in rows], "exit": code,
            "note": "the C program ignores --momentum (plain SGD at its own ALPHA recipe)"}
    if code != 0 or len(rows) < 2:
        return {"status": "failed", "reason": f"bench_lenet exit {code}",
                "data": data | {"tail": tail(text, 800)}}
    return {"status": "ok", "data": data}


def step_mixed_precision(args) -> dict:
    """Chapter 7's mixed-precision numbers on CUDA: what CUDA autocast keeps in float32, the
    cross-entropy of 16-bit logits in the format and upcast first, float16 gradient underflow
    with loss scaling and GradScaler, and forward+backward times of a softmax + CE step
    in float32 and under float16 / bfloat16 autocast."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        return {"status": "failed", "reason": NO_CUDA}
    dev = torch.device("cuda")
    data: dict = {"device": torch.cuda.get_device_name(0)}
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 10).to(dev)
    x, y = torch.randn(32, 64, device=dev), torch.randint(0, 10, (32,), device=dev)
    for name, dt in (("bfloat16", torch.bfloat16), ("float16", torch.float16)):
        with torch.autocast("cuda", dtype=dt):
            z = lin(x)
            out = {"linear": z, "cross_entropy": F.cross_entropy(z, y),
                   "nll_loss(log_softmax)": F.nll_loss(F.log_softmax(z, dim=1), y),
                   "log_softmax": F.log_softmax(z, dim=1), "softmax": torch.softmax(z, 1),
                   "exp": torch.exp(z), "logsumexp": torch.logsumexp(z, 1)}
        data[f"autocast_{name}_dtypes"] = {k: str(v.dtype) for k, v in out.items()}
    # the chapter's loss error: in the format vs upcast first, on CUDA kernels
    rng = np.random.default_rng(6)
    u = rng.normal(size=10)
    u = u / u.max()
    label = torch.tensor([int(np.argmin(u))], device=dev)
    errs = {}
    for name, dt in (("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        rows = []
        for s in (1.0, 10.0, 100.0, 1e3, 1e4, 3e4):
            z = torch.tensor(s * u, dtype=torch.float64, device=dev)[None, :]
            ref = F.cross_entropy(z, label).item()
            zr = z.to(dt)
            inside = F.cross_entropy(zr, label).double().item()
            upcast = F.cross_entropy(zr.float(), label).double().item()
            rows.append({"s": s, "in_format_rel_err": abs(inside - ref) / ref,
                         "upcast_rel_err": abs(upcast - ref) / ref})
        errs[name] = rows
    data["ce_error_vs_scale"] = errs
    # float16 gradient underflow and loss scaling (the chapter's batch, on CUDA)
    gen = torch.Generator().manual_seed(1)
    zh = (6 * torch.randn(1024, 10, generator=gen)).half().to(dev).requires_grad_()
    yh = torch.randint(0, 10, (1024,), generator=gen).to(dev)
    z64 = zh.detach().double().requires_grad_()
    exact = torch.autograd.grad(F.cross_entropy(z64, yh), z64)[0]
    lost = {}
    for k in (0, 8, 16, 24, 26):
        g = torch.autograd.grad(F.cross_entropy(zh.float(), yh) * 2.0 ** k, zh)[0]
        lost[k] = {"zero_share": ((g == 0) & (exact != 0)).double().mean().item(),
                   "finite": bool(torch.isfinite(g).all())}
    data["fp16_loss_scaling"] = lost
    scaler = torch.amp.GradScaler("cuda")
    data["gradscaler_init_scale"] = scaler.get_scale()
    # times of one forward + backward of a linear layer + CE, batch 4096, 1000 classes
    big = torch.nn.Linear(1024, 1000).to(dev)
    xb = torch.randn(4096, 1024, device=dev)
    yb = torch.randint(0, 1000, (4096,), device=dev)
    times = {}
    for name, dt in (("float32", None), ("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        def step(dt=dt):
            big.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=dt or torch.float16, enabled=dt is not None):
                loss = F.cross_entropy(big(xb), yb)
            loss.backward()
            return loss
        for _ in range(5):
            step()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(50):
            loss = step()
        torch.cuda.synchronize()
        times[name] = {"ms_per_step": round(1000 * (time.perf_counter() - t0) / 50, 3),
                       "loss_dtype": str(loss.dtype)}
    data["linear_ce_fwd_bwd"] = times
    return {"status": "ok", "data": data}


STEPS = {"gpu_info": step_gpu_info, "pytest_gpu": step_pytest_gpu,
         "solutions": step_solutions, "grade_cuda": step_grade_cuda,
         "sandbox_gpu": step_sandbox_gpu, "grade_sandboxed": step_grade_sandboxed,
         "lenet_cuda": step_lenet_cuda, "lenet_cpu": step_lenet_cpu,
         "mixed_precision": step_mixed_precision}


# ----------------------------------------------------------------------------- report

def summary_md(results: dict) -> str:
    info = results.get("gpu_info", {}).get("data", {})
    lines = [f"## GPU checks ({results['meta']['started']}, `benchmarks/gpu/run_gpu_checks.sh"
             f"{' --quick' if results['meta']['quick'] else ''}`)", "",
             f"Machine: {info.get('gpu') or 'no GPU'}, driver {info.get('driver', '?')}, "
             f"torch {info.get('torch')} (CUDA {info.get('torch_cuda')}), Python "
             f"{info.get('python_version')}, {info.get('cpu_cores')} CPU cores.", "",
             "| step | result |", "|---|---|"]
    for name in STEPS:
        r = results.get(name)
        if r:
            lines.append(f"| {name} | {r['status']}"
                         f"{' (' + r['reason'] + ')' if r.get('reason') else ''} |")
    for name in ("lenet_cuda", "lenet_cpu"):
        rows = results.get(name, {}).get("data", {}).get("rows") or []
        if rows:
            lines += ["", f"### {name}: `{results[name]['data']['command']}`", "",
                      "| impl | device | batch | epochs | epoch s (median) | test acc |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {r['impl']} | {r['device']} | {r['batch']} | {r['epochs']} | "
                      f"{r['epoch_s_median']:.4f} | {r['test_acc']:.3f} |" for r in rows]
    c = [r for r in results.get("lenet_cpu", {}).get("data", {}).get("rows", [])
         if r["impl"] == "c-O2"]
    g = results.get("lenet_cuda", {}).get("data", {}).get("rows", [])
    if c and g:
        lines += ["", "Ratio C epoch / this (batch 256): " + ", ".join(
            f"{r['impl']} {c[0]['epoch_s_median'] / r['epoch_s_median']:.0f}x"
            for r in g if r["batch"] == 256)]
    for name in ("grade_cuda", "grade_sandboxed"):
        grades = results.get(name, {}).get("data", {}).get("grades") or {}
        if grades:
            lines += ["", f"### {name}", ""]
            for a, r in grades.items():
                lines.append(f"- {a}: {json.dumps(r, default=str)[:600]}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (a check on the CPU)")
    ap.add_argument("--only", nargs="+", choices=list(STEPS), help="run these steps only")
    ap.add_argument("--skip", nargs="+", choices=list(STEPS), default=[])
    ap.add_argument("--assignments", nargs="+", help="limit the solutions/grading steps")
    ap.add_argument("--stock", action="store_true",
                    help="also grade each solution with stock nbgrader autograde (needs "
                    "ipykernel and the Jupyter stack)")
    ap.add_argument("--jobs", type=int, default=6, help="assignments run side by side")
    ap.add_argument("--copies", type=int, default=2, help="submissions per sandboxed grade")
    ap.add_argument("--epochs", type=int, default=3, help="GPU LeNet epochs")
    ap.add_argument("--cpu-epochs", type=int, default=1, help="C and CPU PyTorch epochs")
    ap.add_argument("--timeout-solution", type=float, default=240)
    ap.add_argument("--timeout-grade", type=float, default=300)
    ap.add_argument("--timeout-bench", type=float, default=240)
    args = ap.parse_args()
    out = out_dir()
    results = {"meta": {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": args.quick,
                        "python": PY, "out": str(out)}}
    for name, fn in STEPS.items():
        if (args.only and name not in args.only) or name in args.skip:
            continue
        print(f"== {name} ...", flush=True)
        t0 = time.monotonic()
        try:
            res = fn(args)
        except Exception as e:  # noqa: BLE001 - a broken step must not stop the others
            res = {"status": "failed", "reason": f"{type(e).__name__}: {e}"[:400]}
        res["seconds"] = round(time.monotonic() - t0, 1)
        results[name] = res
        print(f"== {name}: {res['status']} ({res['seconds']} s)"
              f"{' - ' + res['reason'] if res.get('reason') else ''}", flush=True)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        (out / "summary.md").write_text(summary_md(results))
    print("\nstep             result")
    for name in STEPS:
        r = results.get(name)
        text = "not run (--only/--skip)" if r is None else r["status"] + (
            f" ({r['reason']})" if r.get("reason") else "")
        print(f"{name:<16} {text[:300]}")
    print(f"\nresults: {out / 'results.json'}, {out / 'summary.md'}")
    return 0 if all(r.get("status") == "ok" for k, r in results.items() if k != "meta") else 1


if __name__ == "__main__":
    sys.exit(main())
