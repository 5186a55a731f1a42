#!/usr/bin/env bash
# Run HERE (the course machine, with internet and the course venv), before the GPU run.
# Fills .gpucarry/ (ignored through .git/info/exclude) with what the GPU machine lacks:
#   .gpucarry/wheels/  the pinned wheels nbgrader/nbformat/IPython/ipykernel need (Python 3.12,
#                      x86-64; the image has no nbgrader, no Jupyter stack; see wheel_list.py)
#   .gpucarry/bwrap/   the bubblewrap binary (Debian's package, unpacked; needs glibc >= 2.34)
# Then pass carry=[".gpucarry"] to the device tool's run. The working tree that travels is
# limited to 64 MiB in all: the script prints the size.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
exclude=$(git rev-parse --git-path info/exclude)  # shared by all worktrees of the repo
grep -qx '/.gpucarry/' "$exclude" 2>/dev/null || echo /.gpucarry/ >> "$exclude"
mkdir -p .gpucarry/wheels .gpucarry/bwrap
"$PY" benchmarks/gpu/wheel_list.py > .gpucarry/wheels.txt
# widgets and JupyterLab's front end are never imported by grading: leave them out (size)
grep -viE '^(jupyterlab|jupyterlab-widgets|widgetsnbextension|ipywidgets|jupyter-lsp|jupyterlab-server|async-lru|babel|json5|jupyter-builder)==' \
    .gpucarry/wheels.txt > .gpucarry/wheels.min.txt || true
plat=()
for n in 17 24 27 28 31 34 35; do plat+=(--platform "manylinux_2_${n}_x86_64"); done
plat+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --abi cp312 --abi abi3 --abi none "${plat[@]}" \
    -d .gpucarry/wheels -r .gpucarry/wheels.min.txt
if [ ! -x .gpucarry/bwrap/usr/bin/bwrap ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download bubblewrap >/dev/null)
    dpkg -x "$tmp"/bubblewrap_*.deb .gpucarry/bwrap
    rm -rf "$tmp"
fi
du -sh .gpucarry
ls .gpucarry/wheels | wc -l
