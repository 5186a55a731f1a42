"""Judge spec for ps06_lenet (instructor only: the release ignores *.py files).

Each probe calls a student function inside the sandbox; the trusted judge compares the
result with what the solution in ps06_lenet.py returns for the same call. The probes of
a test cell check what the cell's visible and hidden tests check, so an honest notebook
and the judge agree (a disagreement flags the submission tamper_suspected).

Tasks 1 and 2 (NumPy deltas) are judged on logits the notebook never uses. Tasks 3 and 4
train: task 3 compiles the student's C delta body into the course's LeNet-5 (with the
system C compiler, inside the sandbox) and judges the runs by accuracy and parameter
norm; task 4 trains the student's PyTorch LeNet-5 and judges its predictions on the
held-out images, whose labels stay here. Training runs use the seeds of the notebook's
own tests: the thresholds sit close to what an honest run reaches, and the same seeds
make the judge and an honest notebook agree run for run.
See autograder/spec.py for the format.
"""

from dataclasses import dataclass

import numpy as np

from autograder.spec import Close, Exact, Probe, Raises, Raised
from infoloss.mnistlike import mnist_like_split

WARM = ["numpy", "torch", "torch.nn", "torch.utils.data", "sklearn.datasets",
        "sklearn.model_selection", "infoloss.clenet", "infoloss.device",
        "infoloss.mnistlike", "infoloss.testing"]
# Each C run (10 epochs) takes about 10 s of one core and the notebook makes three, the
# judge two more: the defaults (30 s per cell, 20 s per probe, 120 s per notebook) are
# too tight for that on a loaded machine.
LIMITS = {"memory": 4 * 2**30, "chunk_timeout": 120.0, "probe_timeout": 120.0,
          "wall": 480.0, "cpu": 600}

DELTA = Close(rtol=1e-6, atol=1e-9, dtype="float64")   # the notebook: rtol 1e-5..1e-4
EXTREME = Close(rtol=1e-9, atol=1e-12, dtype="float64")


def _what(value) -> str:
    if isinstance(value, Raised):
        return f"raised {value.mro[0]}"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return type(value).__name__


def _number(value) -> float | None:
    """A 0-d float result as a Python float (None for anything else)."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "f":
        return float(value)
    return None


@dataclass
class CRun:
    """``[final test accuracy, last parameter norm]`` of a run of the C LeNet-5."""

    min_acc: float = 0.95
    max_norm: float | None = None

    def __call__(self, got, ref) -> tuple[bool, str]:
        vals = [_number(v) for v in got] if isinstance(got, list) and len(got) == 2 else None
        if vals is None or None in vals:
            return False, f"the C program did not train ({_what(got)})"
        acc, norm = vals
        if not acc >= self.min_acc:
            return False, f"test accuracy {acc:.3f} below {self.min_acc:.2f}"
        if self.max_norm is not None and not norm < self.max_norm:
            return False, f"the parameter norm ends at {norm:.3g}, not below {self.max_norm:g}"
        return True, f"test accuracy {acc:.3f}"


@dataclass
class LossHistory:
    """``train_lenet``'s mean losses: Python floats, falling, starting near ln 10."""

    epochs: int
    first_below: float = float(np.log(10) + 0.2)

    def __call__(self, got, ref) -> tuple[bool, str]:
        if not isinstance(got, list) or len(got) != self.epochs:
            return False, f"expected a list of {self.epochs} losses, got {_what(got)}"
        if any(not isinstance(v, np.ndarray) or v.shape != () or v.dtype != np.float64
               for v in got):
            return False, "the losses must be Python floats (use loss.item())"
        losses = [float(v) for v in got]
        if not all(np.isfinite(losses)):
            return False, "a loss is not finite"
        if not losses[0] < self.first_below:
            return False, f"the first epoch's loss {losses[0]:.3f} is far above ln 10"
        if not np.all(np.diff(losses) < 0):
            return False, "the loss does not fall from epoch to epoch"
        return True, "ok"


@dataclass
class HeldOut:
    """``[logits on the held-out images, logits on a dark image]`` of a trained LeNet5."""

    labels: np.ndarray
    minimum: float

    def __call__(self, got, ref) -> tuple[bool, str]:
        n = len(self.labels)
        if not isinstance(got, list) or len(got) != 2:
            return False, f"the network did not train or predict ({_what(got)})"
        logits, dark = got
        if not isinstance(logits, np.ndarray) or logits.shape != (n, 10) \
                or logits.dtype.kind != "f":
            return False, f"expected logits of shape ({n}, 10), got {_what(logits)}"
        acc = float(np.mean(np.argmax(logits, axis=1) == self.labels))
        if acc < self.minimum:
            return False, f"held-out accuracy {acc:.3f} below {self.minimum:.2f}"
        if not isinstance(dark, np.ndarray) or dark.shape != (1, 10) or not np.any(dark != 0):
            return False, "forward should return raw logits"
        return True, f"held-out accuracy {acc:.3f}"


def _logits(seed: int, n: int, scale: float) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(seed)
    return rng.normal(scale=scale, size=n), int(rng.integers(n))


def _c_softmax_delta():
    c = "test_c_softmax_delta"
    z = np.array([1.5, -0.5, 0.0, 3.0, -2.0])
    yield Probe(c, "c_softmax_delta(z, 3)", {"z": z}, DELTA, hint="five logits")
    yield Probe(c, "c_softmax_delta(z, 1)", {"z": z}, DELTA, hint="a wrong prediction")
    for k, (n, scale) in enumerate([(10, 3.0), (10, 3.0), (10, 5.0), (7, 2.0), (20, 3.0)]):
        zz, lab = _logits(600 + k, n, scale)
        yield Probe(c, "c_softmax_delta(z, label)", {"z": zz, "label": lab}, DELTA,
                    hint=f"random logits ({n} classes)")
    yield Probe(c, "c_softmax_delta(np.array([0.0, 1000.0, 0.0]), 1)", compare=EXTREME,
                hint="a huge logit on the true class (stable softmax)")
    yield Probe(c, "c_softmax_delta(np.array([0.0, 0.0, 1000.0, 0.0]), 0)", compare=EXTREME,
                hint="a confidently wrong example: the MSE delta vanishes")
    big = np.array([2.5, -1.0, 0.5, 4.0], dtype=np.float32) + np.float32(5e3)
    yield Probe(c, "c_softmax_delta(big, 2)", {"big": big}, DELTA,
                hint="float32 logits far from 0: float64 result, shift invariance")
    yield Probe(c, "c_softmax_delta(np.zeros(6), 4)", compare=DELTA, hint="uniform logits")
    yield Probe(c, "c_softmax_delta(np.zeros((3, 2)), 0)", compare=Raises(ValueError, "1-D"),
                hint="rejects a 2-D array")
    yield Probe(c, "c_softmax_delta(np.zeros(0), 0)", compare=Raises(ValueError),
                hint="rejects an empty array")
    yield Probe(c, "c_softmax_delta(np.array([1.0, np.nan, 0.0]), 1)",
                compare=Raises(ValueError, "finite"), hint="rejects NaN")
    yield Probe(c, "c_softmax_delta(z, 5)", {"z": z}, Raises(ValueError, "label"),
                hint="rejects a label past the last class")
    yield Probe(c, "c_softmax_delta(z, -2)", {"z": z}, Raises(ValueError, "label"),
                hint="rejects a negative label")
    yield Probe(c, "c_softmax_delta(z, 2.5)", {"z": z}, Raises(ValueError, "label"),
                hint="rejects a label that is not an integer")


def _ce_delta():
    c = "test_ce_delta"
    z = np.array([-1.0, 2.0, 0.5, 0.0, 1.0, -3.0])
    yield Probe(c, "ce_delta(z, 4)", {"z": z}, DELTA, hint="six logits")
    for k, (n, scale) in enumerate([(10, 4.0), (10, 4.0), (10, 6.0), (5, 1.0), (16, 4.0)]):
        zz, lab = _logits(700 + k, n, scale)
        yield Probe(c, "ce_delta(z, label)", {"z": zz, "label": lab}, DELTA,
                    hint=f"random logits ({n} classes)")
    yield Probe(c, "ce_delta(np.array([0.0, 0.0, 1000.0, 0.0]), 0)", compare=EXTREME,
                hint="a confidently wrong example still gets a delta of size 1")
    yield Probe(c, "ce_delta(np.array([-1000.0, 0.0]), 1)", compare=EXTREME,
                hint="a confidently right example (stable softmax)")
    yield Probe(c, "ce_delta(np.zeros(8), 5)", compare=EXTREME, hint="uniform logits")
    yield Probe(c, "ce_delta(np.zeros((2, 2)), 0)", compare=Raises(ValueError, "1-D"),
                hint="rejects a 2-D array")
    yield Probe(c, "ce_delta(z, 6)", {"z": z}, Raises(ValueError, "label"),
                hint="rejects a label past the last class")
    yield Probe(c, "ce_delta(np.array([0.0, -np.inf, 1.0]), 0)",
                compare=Raises(ValueError, "finite"), hint="rejects infinite logits")


# The notebook's run: ALPHA 0.1, batches of 50, 10 epochs; only the seed changes. The
# module is reloaded from disk first, so a notebook that patched clenet.train (under any
# alias, which the static scan cannot always see) does not grade its own C code.
C_RUN = ("(lambda run: [run.final_acc, run.param_norm[-1]])("
         "__import__('importlib').reload(__import__('infoloss.clenet', fromlist=['train']))"
         ".train(body=c_delta_body(), alpha=0.1, seed={seed}, epochs=10, batch=50))")


def _c_delta_body():
    c = "test_c_delta_body"
    yield Probe(c, "isinstance(c_delta_body(), str) and bool(c_delta_body().strip())",
                compare=Exact(), hint="c_delta_body() returns C code as a string")
    yield Probe(c, C_RUN.format(seed=1), compare=CRun(0.95),
                hint="your delta trains the C LeNet-5 to 95%")
    yield Probe(c, C_RUN.format(seed=5), compare=CRun(0.95, max_norm=50),
                hint="... with another seed, the parameters staying bounded")


# Trains a fresh LeNet5 as the notebook does (seeded model and shuffling, batches of 64)
# and returns what the comparator judges.
TORCH_RUN = (
    "[seed_everything({seed}), net := LeNet5(), device := pick_device(), "
    "data := mnist_like_tensors(device), "
    "loader := torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data[:2]), "
    "batch_size=64, shuffle=True, generator=torch.Generator().manual_seed({seed})), "
    "{result}][-1]")


def _lenet5():
    c = "test_lenet5"
    split = mnist_like_split()
    X_test = (split.test_images[:, None] / 255.0).astype(np.float32)
    batch = np.random.default_rng(606).uniform(size=(5, 1, 28, 28)).astype(np.float32)
    yield Probe(c, "sum(p.numel() for p in LeNet5().parameters())", compare=Exact(),
                hint="LeNet-5 here has 51,902 parameters")
    yield Probe(c, "tuple(LeNet5()(torch.as_tensor(x)).shape)", {"x": batch}, Exact(),
                hint="forward maps (N, 1, 28, 28) images to (N, 10) logits")
    yield Probe(c, "not isinstance(list(LeNet5().modules())[-1], nn.ReLU)", compare=Exact(),
                hint="no ReLU on the outputs")
    yield Probe(c, TORCH_RUN.format(seed=0, result="train_lenet(net, loader, device, 2)"),
                compare=LossHistory(2),
                hint="train_lenet returns the mean loss of each epoch, falling from ~ln 10")
    for epochs in (0, -3):
        yield Probe(c, TORCH_RUN.format(seed=0, result=f"train_lenet(net, loader, device, "
                                                       f"{epochs})"),
                    compare=Raises(ValueError, "epoch"), hint=f"rejects epochs={epochs}")
    trained = ("[train_lenet(net, loader, device, 12), net.eval(), "
               "[net(torch.as_tensor(X, device=device)), "
               "net(torch.full((1, 1, 28, 28), -5.0, device=device))]][-1]")
    yield Probe(c, TORCH_RUN.format(seed=1, result=trained), {"X": X_test},
                HeldOut(split.test_labels.astype(np.int64), 0.95),
                hint="12 epochs reach 95% on the held-out images")


def probes():
    """Every probe, in notebook order."""
    yield from _c_softmax_delta()
    yield from _ce_delta()
    yield from _c_delta_body()
    yield from _lenet5()
