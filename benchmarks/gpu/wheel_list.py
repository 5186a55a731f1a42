"""Which wheels the GPU machine lacks for grading: the course's pinned packages that
nbgrader, nbformat, IPython and ipykernel need, minus what the device image already has.

Run here (with the course venv, where all of them are installed) by ``prepare_carry.sh``;
prints ``name==version`` lines. The device image's package list is the one in
``/work/.library/device/KINDS.md`` (copied below, names only, normalised).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOTS = ["nbgrader", "nbformat", "nbconvert", "nbclient", "jupyter_client", "ipython",
         "ipykernel", "jupytext"]

# The device image's Python packages (KINDS.md, read 2026-11-17). Not carried: using the
# image's own copies keeps torch, numpy and the CUDA libraries the image was built with.
DEVICE_HAS = """absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio
attrs botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy
coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax
e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec
gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio
iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib
kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-ml-py onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum
opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy
portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock
pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu
safetensors scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece
sentence-transformers setuptools shellingham simplejson six sortedcontainers statsmodels sympy
tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm
transformers treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig
werkzeug wheel wrapt xarray xxhash yarl zipp""".split()


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: list[str]) -> dict[str, str]:
    env = default_environment() | {"python_version": "3.12", "python_full_version": "3.12.3",
                                   "sys_platform": "linux", "platform_machine": "x86_64"}
    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if norm(name) in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            print(f"# not installed here: {name}", file=sys.stderr)
            continue
        seen[norm(name)] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker and not req.marker.evaluate(env | {"extra": ""}):
                continue
            todo.append(req.name)
    return seen


def main() -> int:
    have = {norm(n) for n in DEVICE_HAS}
    for name, version in sorted(closure(ROOTS).items()):
        if name not in have:
            print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
