#!/usr/bin/env bash
# Every GPU step of issue 18 in one run (see benchmarks/gpu/README.md). From the repo root:
#   bash benchmarks/gpu/run_gpu_checks.sh [--quick] [gpu_checks.py options]
# Results under $OUT (default benchmarks/gpu/out). Exit 0 only when every step is ok.
set -u
cd "$(dirname "$0")/../.."
export OUT=${OUT:-$PWD/benchmarks/gpu/out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
log() { echo "[run_gpu_checks] $*"; }

# 1. The interpreter: $PY, else the course venv, else the image's python3 (on the device
#    machine /opt/torch/.venv/bin/python3, which holds a CUDA build of torch).
if [ -z "${PY:-}" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=$(command -v python3); fi
fi
case $PY in */*) [ "${PY#/}" = "$PY" ] && PY=$PWD/$PY ;; *) PY=$(command -v "$PY") ;; esac
PY=$(cd /tmp && "$PY" -c 'import sys; print(sys.executable)') || { log "no python"; exit 2; }
log "python: $PY"
(cd /tmp && "$PY" -c 'import torch; print("[run_gpu_checks] torch", torch.__version__, "cuda",
 torch.version.cuda, "available", torch.cuda.is_available())') || log "torch does not import"

# 2. What grading needs and the image lacks (nbformat, nbgrader, IPython, ...): the wheels
#    carried in .gpucarry/wheels (benchmarks/gpu/prepare_carry.sh), installed into the
#    interpreter's own site-packages so that the grader's jail (which binds sys.prefix and
#    passes no PYTHONPATH) sees them too. Only on a throwaway machine: it never runs when
#    the imports already work (the course venv).
if ! (cd /tmp && "$PY" -c 'import nbformat, nbgrader.api, IPython, ipykernel' 2>/dev/null); then
    if ls .gpucarry/wheels/*.whl >/dev/null 2>&1; then
        log "installing $(ls .gpucarry/wheels/*.whl | wc -l) carried wheels into $PY's site-packages"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            .gpucarry/wheels/*.whl 2>&1 | tail -5 || log "pip install failed"
    else
        log "nbformat/nbgrader/IPython missing and no .gpucarry/wheels: grading steps will fail"
    fi
fi

# 3. The course package (infoloss, autograder) importable from anywhere, the jail included:
#    a .pth file in site-packages (what `pip install -e .` does), else PYTHONPATH.
if ! (cd /tmp && "$PY" -c 'import infoloss, autograder' 2>/dev/null); then
    site=$(cd /tmp && "$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    if echo "$PWD" > "$site/infoloss-gpu-checks.pth" 2>/dev/null; then
        log "course package on the path through $site/infoloss-gpu-checks.pth"
    else
        export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
        log "site-packages not writable: PYTHONPATH=$PWD (the grader's jail will not see it)"
    fi
fi

# 4. bubblewrap for the sandboxed grading: the system's, else the carried binary.
if ! command -v bwrap >/dev/null && [ -x .gpucarry/bwrap/usr/bin/bwrap ]; then
    export PATH=$PWD/.gpucarry/bwrap/usr/bin:$PATH
    log "using the carried bwrap ($(bwrap --version 2>&1))"
fi
command -v bwrap >/dev/null || log "no bwrap: the sandboxed grading step will fail"
command -v cc >/dev/null || log "no C compiler: the C LeNet (ps06, lenet_cpu) will fail"
command -v nvidia-smi >/dev/null && nvidia-smi -L

set -o pipefail
"$PY" benchmarks/gpu/gpu_checks.py "$@" 2>&1 | tee "$OUT/log.txt"
