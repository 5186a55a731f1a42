"""Judge spec for ps06_lenet (instructor only: the release ignores *.py files).

The hidden checks of the notebook are these probes, written once: ``release`` generates
each test cell's hidden block from them (autograder/checks.py), stock nbgrader runs them in
the kernel, and the judge runs them in the sandbox and compares the plain data outside.
Probes marked ``visible=True`` repeat a visible test of their cell (same call, same
tolerance); a failure of one of those in a notebook whose visible tests pass is tampering.

Tasks 1 and 2 (NumPy deltas) are judged on logits the notebook never uses. Tasks 3 and 4
train, and nothing is trained twice: the visible tests train the C program on seed 1
and LeNet5 for 2 epochs (their outcome already gates the cell's points), the probes train
the C program once on seed 5 and a fresh LeNet5 once for 12 epochs. The C run compiles the
student's body into the course's LeNet-5 (the system C compiler, inside the sandbox); the
PyTorch run is judged by its predictions on the held-out images, whose labels stay here.
What ``train_lenet`` returns (the mean cross-entropy of each epoch) is checked without a
second training, on a model whose one parameter gets a zero gradient, so its losses do not
depend on the optimiser the student chose. See autograder/spec.py for the format.
"""

from dataclasses import dataclass

import numpy as np

from autograder.requirements import BY_NAME, NOT_GRADED, WARNINGS_RULE
from autograder.spec import Close, Exact, Probe, Raised, Raises
from infoloss.mnistlike import mnist_like_split

WARM = ["numpy", "torch", "torch.nn", "torch.utils.data", "infoloss.device",
        "infoloss.mnistlike", "infoloss.testing"]
# Each C run (10 epochs) takes about 10 s of one core; the notebook makes two and the
# probes one more, then a 12-epoch PyTorch run: the defaults (30 s per cell, 20 s per
# probe, 120 s per notebook) are too tight for that on a loaded machine.
LIMITS = {"memory": 4 * 2**30, "chunk_timeout": 120.0, "probe_timeout": 120.0,
          "wall": 480.0, "cpu": 600}

DELTA = Close(rtol=1e-6, atol=1e-9, dtype="float64")   # the notebook: rtol 1e-5..1e-4
EXTREME = Close(rtol=1e-9, atol=1e-12, dtype="float64")
# The visible tests' own tolerances (check_close against finite differences), for the
# probes that repeat them.
VISIBLE_DELTA = Close(rtol=1e-5, atol=1e-9, dtype="float64")
VISIBLE_SUM = Close(rtol=0.0, atol=1e-12)


def _what(value) -> str:
    if isinstance(value, Raised):
        return f"an error ({value.mro[0]})"
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
class EpochLosses:
    """``train_lenet``'s list: one Python float per epoch, the mean cross-entropy of the
    epoch's examples (the solution's numbers: the model's outputs cannot change here)."""

    rtol: float = 1e-5

    def __call__(self, got, ref) -> tuple[bool, str]:
        if isinstance(got, Raised):
            return False, f"expected a list of losses, but train_lenet raised {got.mro[0]}"
        if not isinstance(got, list) or len(got) != len(ref):
            return False, f"expected a list of {len(ref)} losses (one per epoch), got {_what(got)}"
        if any(not isinstance(v, np.ndarray) or v.shape != () or v.dtype != np.float64
               for v in got):
            return False, "the losses must be Python floats (use loss.item())"
        losses, want = np.array([float(v) for v in got]), np.array([float(v) for v in ref])
        if not np.all(np.isfinite(losses)):
            return False, "a loss is not finite"
        if np.any(np.abs(losses - want) > self.rtol * np.abs(want)):
            return False, ("the losses are not the mean nn.CrossEntropyLoss over each epoch "
                           f"(got {np.round(losses, 4).tolist()})")
        return True, "ok"


RELU_OPS = ("ReluBackward0", "ClampMinBackward0", "ClampBackward1", "ThresholdBackward0")


@dataclass
class LeNetOps:
    """The autograd operations of ``LeNet5()`` on a batch, output first: three
    convolutions, ReLUs, max (not average) pooling, and no ReLU on the logits. The graph
    is the same whether the layers are modules or ``torch.nn.functional`` calls."""

    def __call__(self, got, ref) -> tuple[bool, str]:
        if not isinstance(got, list) or not got or not all(isinstance(n, str) for n in got):
            return False, f"the network's forward pass did not run ({_what(got)})"
        if got[0] in RELU_OPS:
            return False, "forward applies a ReLU to the outputs: return the raw logits"
        if sum(n == "ConvolutionBackward0" for n in got) != 3:
            return False, "expected three 5x5 convolutions"
        if sum(n in RELU_OPS for n in got) < 3:
            return False, "expected a ReLU after each convolution"
        if any("AvgPool" in n for n in got) or sum("Max" in n for n in got) < 2:
            return False, "expected two 2x2 max poolings (not average pooling)"
        return True, "ok"


@dataclass
class ConvMaps:
    """``[in maps, out maps, height, width]`` of each convolution of ``LeNet5()``, sorted
    (the solution's: 1 -> 6 maps of 28x28, 6 -> 16 of 10x10, 16 -> 120 of 1x1)."""

    def __call__(self, got, ref) -> tuple[bool, str]:
        if isinstance(got, Raised):
            return False, f"the network's forward pass did not run ({got.mro[0]})"
        if got == ref:
            return True, "ok"
        if not isinstance(got, list) or len(got) != len(ref):
            return False, "expected three 5x5 convolutions"
        return False, (f"the convolutions give (in maps, out maps, height, width) {got}, "
                       f"expected {ref} (the 28x28 input padded by 2 to 32x32)")


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


VISIBLE_Z = np.array([0.5, -1.0, 2.0, 0.0])   # the visible tests' logits


def _c_softmax_delta():
    c = "test_c_softmax_delta"
    yield Probe(c, "c_softmax_delta(z, 2)", {"z": VISIBLE_Z}, VISIBLE_DELTA, visible=True,
                hint="the visible example: float64, the negative gradient of the squared error")
    yield Probe(c, "np.sum(c_softmax_delta(z, 2))", {"z": VISIBLE_Z}, VISIBLE_SUM, visible=True,
                hint="the visible example: the delta sums to 0")
    yield Probe(c, "c_softmax_delta(z, 4)", {"z": VISIBLE_Z}, Raises(ValueError, "label"),
                visible=True, hint="the visible example: rejects label 4 of four classes")
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
    yield Probe(c, "c_softmax_delta(np.array([2.5]), 0)", compare=DELTA,
                hint="a single logit (one class) is a valid input")
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
    yield Probe(c, "ce_delta(z, 0)", {"z": VISIBLE_Z}, VISIBLE_DELTA, visible=True,
                hint="the visible example: float64, the negative gradient of the cross-entropy")
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
    yield Probe(c, "ce_delta(np.array([-4.0]), 0)", compare=EXTREME,
                hint="a single logit (one class): the delta is 0")
    big = np.array([-2.0, 1.0, 3.5], dtype=np.float32) + np.float32(-4e3)
    yield Probe(c, "ce_delta(big, 0)", {"big": big}, DELTA,
                hint="float32 logits far from 0: float64 result")
    yield Probe(c, "ce_delta(np.zeros((2, 2)), 0)", compare=Raises(ValueError, "1-D"),
                hint="rejects a 2-D array")
    yield Probe(c, "ce_delta(np.zeros(0), 0)", compare=Raises(ValueError),
                hint="rejects an empty array")
    yield Probe(c, "ce_delta(np.array([0.0, -np.inf, 1.0]), 0)",
                compare=Raises(ValueError, "finite"), hint="rejects infinite logits")
    yield Probe(c, "ce_delta(z, 6)", {"z": z}, Raises(ValueError, "label"),
                hint="rejects a label past the last class")
    yield Probe(c, "ce_delta(z, -1)", {"z": z}, Raises(ValueError, "label"),
                hint="rejects a negative label")
    yield Probe(c, "ce_delta(z, 2.5)", {"z": z}, Raises(ValueError, "label"),
                hint="rejects a label that is not an integer")


# ALPHA 0.1, batches of 50, 10 epochs as in the notebook, on another seed (the visible test
# trains seed 1). The module is reloaded from disk first, so a notebook that patched
# clenet.train (under any alias, which the static scan cannot always see) does not grade
# its own C code.
C_RUN = ("(lambda run: [run.final_acc, run.param_norm[-1]])("
         "__import__('importlib').reload(__import__('infoloss.clenet', fromlist=['train']))"
         ".train(body=c_delta_body(), alpha=0.1, seed=5, epochs=10, batch=50))")


def _c_delta_body():
    c = "test_c_delta_body"
    yield Probe(c, "isinstance(c_delta_body(), str) and bool(c_delta_body().strip())",
                compare=Exact(), visible=True, hint="c_delta_body() returns C code as a string")
    yield Probe(c, C_RUN, compare=CRun(0.95, max_norm=50),
                hint="your delta trains the C LeNet-5 to 95% on another seed, "
                     "the parameters staying bounded")


# Trains a fresh LeNet5 as the notebook does (seeded model and shuffling, batches of 64)
# and returns what the comparator judges.
TORCH_RUN = (
    "[seed_everything({seed}), net := LeNet5(), device := pick_device(), "
    "data := mnist_like_tensors(device), "
    "loader := torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data[:2]), "
    "batch_size=64, shuffle=True, generator=torch.Generator().manual_seed({seed})), "
    "{result}][-1]")
# The autograd graph of LeNet5()(x), output first, as a list of operation names.
GRAPH = ("[ops := [], todo := [LeNet5()(torch.as_tensor(x)).grad_fn], seen := set(), "
         "[(seen.add(f), ops.append(type(f).__name__), "
         "todo.extend(g for g, _ in f.next_functions if g is not None)) "
         "for f in iter(lambda: todo.pop() if todo else None, None) if f not in seen], ops][-1]")
# Each convolution of LeNet5()(x) as [in maps, out maps, out height, out width], sorted:
# the output size follows from what autograd saved (input, padding, kernel, stride,
# dilation), so padding inside the convolution, F.pad before it, or padding="same" all
# give the same sizes.
CONVS = ("[todo := [LeNet5()(torch.as_tensor(x)).grad_fn], seen := set(), convs := [], "
         "[(seen.add(f), todo.extend(g for g, _ in f.next_functions if g is not None), "
         "type(f).__name__ == 'ConvolutionBackward0' and convs.append("
         "[*f._saved_weight.shape[:2][::-1], *((f._saved_input.shape[2 + j] "
         "+ 2 * f._saved_padding[j] - f._saved_dilation[j] * (f._saved_weight.shape[2 + j] - 1)"
         " - 1) // f._saved_stride[j] + 1 for j in (0, 1))])) "
         "for f in iter(lambda: todo.pop() if todo else None, None) if f not in seen], "
         "sorted(convs)][-1]")
# train_lenet on a model whose outputs cannot change: pooled pixels through a PReLU whose
# one parameter acts only on negative inputs, and the inputs are not negative. Its
# gradient is zero, so every optimiser leaves the outputs as they are, and the losses
# are known whatever the student chose. Three batches of 32 (easy, mixed, hard).
FIXED = ("train_lenet(nn.Sequential(nn.AdaptiveAvgPool2d((1, 10)), nn.Flatten(), nn.PReLU()), "
         "torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(X), "
         "torch.as_tensor(Y)), batch_size=32), torch.device('cpu'), {epochs})")


def _fixed_batches() -> dict[str, np.ndarray]:
    """Images whose 10 pooled features vary, labelled so that the batches' losses differ."""
    rng = np.random.default_rng(66)
    cols = rng.uniform(0.0, 8.0, size=(96, 28))
    X = np.repeat(cols[:, None, None, :], 28, axis=2).astype(np.float32)
    feats = np.stack([cols[:, (i * 28) // 10:-(-(i + 1) * 28 // 10)].mean(axis=1)
                      for i in range(10)], axis=1)
    Y = np.concatenate([feats[:32].argmax(axis=1), rng.integers(10, size=32),
                        feats[64:].argmin(axis=1)]).astype(np.int64)
    return {"X": X, "Y": Y}


def _lenet5():
    c = "test_lenet5"
    split = mnist_like_split()
    X_test = (split.test_images[:, None] / 255.0).astype(np.float32)
    batch = np.random.default_rng(606).uniform(size=(5, 1, 28, 28)).astype(np.float32)
    fixed = _fixed_batches()
    yield Probe(c, "sum(p.numel() for p in LeNet5().parameters())", compare=Exact(),
                visible=True, hint="LeNet-5 here has 51,902 parameters")
    yield Probe(c, "tuple(LeNet5()(torch.zeros(3, 1, 28, 28)).shape)", compare=Exact(),
                visible=True, hint="forward maps (3, 1, 28, 28) images to (3, 10) logits")
    yield Probe(c, "tuple(LeNet5()(torch.as_tensor(x)).shape)", {"x": batch}, Exact(),
                hint="forward maps (N, 1, 28, 28) images to (N, 10) logits")
    yield Probe(c, "not isinstance(list(LeNet5().modules())[-1], nn.ReLU)", compare=Exact(),
                hint="no ReLU on the outputs")
    yield Probe(c, GRAPH, {"x": batch}, LeNetOps(),
                hint="the layers: three convolutions with ReLU, 2x2 max pooling, raw logits")
    yield Probe(c, CONVS, {"x": batch}, ConvMaps(),
                hint="the feature maps: padded by 2 to 32x32, then 6 maps of 28x28, "
                     "16 of 10x10 and 120 of 1x1")
    yield Probe(c, FIXED.format(epochs=3), fixed, EpochLosses(),
                hint="train_lenet returns the mean cross-entropy of each epoch, as floats")
    yield Probe(c, FIXED.format(epochs=1), fixed, EpochLosses(),
                hint="train_lenet accepts epochs=1 (one pass, one loss)")
    yield Probe(c, FIXED.format(epochs=0), fixed, Raises(ValueError, "epoch"), visible=True,
                hint="rejects epochs=0")
    yield Probe(c, FIXED.format(epochs=-3), fixed, Raises(ValueError, "epoch"),
                hint="rejects epochs=-3")
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


# Each rule the notebook's text states, and the probes (by hint) that check it
# (autograder/requirements.py; `python -m autograder requirements ps06_lenet`).
REQUIREMENTS = {
    "Implement `LeNet5`, the network of the C program": [
        "the layers: three convolutions with ReLU, 2x2 max pooling, raw logits",
        "LeNet-5 here has 51,902 parameters", "no ReLU on the outputs",
        "the feature maps: padded by 2 to 32x32, then 6 maps of 28x28, 16 of 10x10 and 120 of 1x1"],
    "Then implement `train_lenet(model, loader, device, epochs)`": [
        "train_lenet returns the mean cross-entropy of each epoch, as floats",
        "12 epochs reach 95% on the held-out images"],
    "Replace every `raise NotImplementedError()`": BY_NAME,
    "Do not rename the functions": BY_NAME,
    "A graded call that warns": WARNINGS_RULE,
    "Compute the softmax stably (subtract the maximum)": [
        "a huge logit on the true class (stable softmax)",
        "a confidently wrong example: the MSE delta vanishes",
        "float32 logits far from 0: float64 result, shift invariance"],
    "Return float64, shape like `z`": [
        "the visible example: float64, the negative gradient of the squared error",
        "float32 logits far from 0: float64 result, shift invariance", "random logits (20 classes)"],
    "Raise `ValueError` when `z` is not a non-empty 1-D array": [
        "rejects a 2-D array", "rejects an empty array", "rejects NaN",
        "rejects a label past the last class", "rejects a negative label",
        "rejects a label that is not an integer",
        "the visible example: rejects label 4 of four classes", "rejects infinite logits",
        "a single logit (one class) is a valid input",
        "a single logit (one class): the delta is 0"],
    "the delta the program needs to train with the cross-entropy": [
        "the visible example: float64, the negative gradient of the cross-entropy", "six logits",
        "a confidently wrong example still gets a delta of size 1",
        "a confidently right example (stable softmax)",
        "float32 logits far from 0: float64 result"],
    "you must fill `loss[0..count-1]` with the delta of a `+=` update": [
        "your delta trains the C LeNet-5 to 95% on another seed, the parameters staying bounded"],
    "Computing the softmax stably is good practice but not graded": NOT_GRADED,
    "requires at least 95% test accuracy": [
        "c_delta_body() returns C code as a string",
        "your delta trains the C LeNet-5 to 95% on another seed, the parameters staying bounded"],
    "Raise `ValueError` if `epochs < 1`": ["rejects epochs=0", "rejects epochs=-3",
                                          "train_lenet accepts epochs=1 (one pass, one loss)"],
    "The hidden test trains a fresh `LeNet5` for 12 epochs": [
        "12 epochs reach 95% on the held-out images"],
}
