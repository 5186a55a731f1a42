"""Judge spec for ps07_distillation (instructor only: the release ignores *.py files).

Each probe calls a student function inside the sandbox; the trusted judge compares the
result with what the solution in ps07_distillation.py returns for the same call. The
probes of a test cell check what the cell's visible and hidden tests check, on other
inputs and seeds, so an honest notebook and the judge agree (a disagreement flags the
submission tamper_suspected). The training task is judged on the first loss (the formula),
on the held-out accuracy of distilled students (labels kept here) and on a student that
must follow a teacher that is wrong on purpose. See autograder/spec.py.
"""

import numpy as np

from autograder.spec import Accuracy, Close, Exact, Probe, Raises
from infoloss.data import load_digits_split

WARM = ["numpy", "torch", "sklearn.datasets", "sklearn.model_selection", "infoloss.data",
        "infoloss.device", "infoloss.progress", "infoloss.testing"]
# The notebook's runs plus three teachers and a dozen short students in the probes.
LIMITS = {"memory": 4 * 2**30, "wall": 240.0}

# Measured on the CPU (issue 13 note): 30 distilled students (teachers of seeds 0-2, student
# seeds 0-9, T = 4, alpha = 0.9, 200 images) reach 0.928 to 0.958 test accuracy; the bar
# sits below the worst. Label-only students reach 0.900 to 0.919.
BAR = 0.915


def _soft_targets():
    c = "test_soft_targets"
    rng = np.random.default_rng(70)
    z = 4 * rng.normal(size=(11, 6))
    for T in (0.3, 1.0, 3.0, 25.0):
        yield Probe(c, f"soft_targets(torch.from_numpy(z), {T})", {"z": z},
                    Close(rtol=1e-12, atol=1e-300, dtype="float64"), hint=f"T = {T}")
    yield Probe(c, "soft_targets(torch.from_numpy(z) - 500.0, 3.0)", {"z": z},
                Close(rtol=1e-9, atol=1e-300, dtype="float64"),
                hint="adding a constant to the logits changes nothing")
    yield Probe(c, "soft_targets(torch.from_numpy(z), 3.0).sum(1)", {"z": z},
                Close(rtol=1e-12, dtype="float64"), hint="rows sum to 1")
    yield Probe(c, "soft_targets(torch.from_numpy(z[:2]), 1e7)", {"z": z},
                Close(rtol=1e-5), hint="a huge T is nearly uniform")
    z32 = rng.normal(size=(4, 9)).astype(np.float32)
    yield Probe(c, "soft_targets(torch.from_numpy(z32), 2.5)", {"z32": z32},
                Close(rtol=1e-6, dtype="float32"), hint="float32 logits give float32 targets")
    big = np.array([[-1e4, 1e4, 1e4, 0.0], [1e4, 0.0, -1e4, 5.0]], dtype=np.float32)
    yield Probe(c, "soft_targets(torch.from_numpy(big), 3.0)", {"big": big},
                Close(atol=1e-12, dtype="float32"), hint="logits of 1e4 stay finite")
    yield Probe(c, "soft_targets(torch.tensor([[0.0, 200.0]], dtype=torch.float64), 0.2)",
                compare=Close(atol=1e-300), hint="a small T sharpens without overflow")
    yield Probe(c, "soft_targets(torch.randn(3, 4, requires_grad=True), 2.0).requires_grad",
                compare=Exact(), hint="the targets carry no gradient")
    yield Probe(c, "soft_targets(torch.from_numpy(z), 0.0)", {"z": z}, Raises(ValueError, "T"),
                hint="rejects T = 0")
    yield Probe(c, "soft_targets(torch.from_numpy(z), -3.0)", {"z": z}, Raises(ValueError, "T"),
                hint="rejects a negative T")
    yield Probe(c, "soft_targets(torch.from_numpy(z[0]), 2.0)", {"z": z},
                Raises(ValueError, "shape"), hint="rejects 1-D logits")
    yield Probe(c, "soft_targets(torch.tensor([[1.0, float('nan'), 0.0]]), 2.0)",
                compare=Raises(ValueError, "nan"), hint="rejects NaN")


# The transfer set of the notebook, and a teacher trained in the sandbox by the given code.
SETUP = ("(lambda d: (lambda X, y: (X[:200], y[:200]))(d[0], d[1]))"
         "(digits_tensors(pick_device()))")
FIRST = ("(lambda Xy: (lambda t: np.array(train_student(t(Xy[0]).detach(), Xy[0], Xy[1], {T}, "
         "{alpha}, steps=2, seed={seed})['losses']))(train_teacher(seed={teacher})))(" + SETUP + ")")
ACC = ("(lambda Xy: (lambda t: train_student({z}, Xy[0], Xy[1], 4.0, {alpha}, seed={seed})"
       "['student'](torch.from_numpy(X).to(Xy[0].device)).argmax(dim=1))"
       "(train_teacher(seed={teacher})))(" + SETUP + ")")


def _train_student():
    c = "test_train_student"
    for T, alpha, seed, teacher in ((4.0, 0.9, 11, 2), (3.0, 0.6, 12, 2), (10.0, 1.0, 13, 2),
                                    (1.0, 0.0, 14, 2), (25.0, 0.8, 15, 2)):
        yield Probe(c, FIRST.format(T=T, alpha=alpha, seed=seed, teacher=teacher),
                    compare=Close(rtol=1e-5),
                    hint=f"the loss before each of two steps at T = {T}, alpha = {alpha}")
    yield Probe(c, "(lambda r: [len(r['losses']), all(isinstance(v, float) for v in r['losses']),"
                   " r['student'].training, type(r['student']).__name__])(train_student("
                   "torch.zeros(30, 10), torch.rand(30, 64), torch.arange(30) % 10, 2.0, 0.5, "
                   "steps=7, seed=3))", compare=Exact(),
                hint="seven losses as floats, a Student in evaluation mode")
    split = load_digits_split()
    X = (split.X_test.reshape(len(split.X_test), -1) / 16.0).astype(np.float32)
    for seed, teacher in ((8, 3), (9, 4)):
        yield Probe(c, ACC.format(z="t(Xy[0]).detach()", alpha=0.9, seed=seed, teacher=teacher),
                    {"X": X}, Accuracy(split.y_test, BAR),
                    hint=f"a distilled student (seed {seed}) on the test images")
    yield Probe(c, ACC.format(z="torch.roll(t(Xy[0]).detach(), 2, dims=1)", alpha=1.0, seed=10,
                              teacher=3),
                {"X": X}, Accuracy((split.y_test + 2) % 10, 0.8),
                hint="with alpha = 1 the student follows a teacher that is wrong on purpose")
    args = "torch.zeros(20, 10), torch.rand(20, 64), torch.arange(20) % 10"
    yield Probe(c, f"train_student({args}, 0.0, 0.5)", compare=Raises(ValueError, "T"),
                hint="rejects T = 0")
    yield Probe(c, f"train_student({args}, -1.0, 0.5)", compare=Raises(ValueError, "T"),
                hint="rejects a negative T")
    yield Probe(c, f"train_student({args}, 2.0, -0.2)", compare=Raises(ValueError, "alpha"),
                hint="rejects alpha below 0")
    yield Probe(c, f"train_student({args}, 2.0, 1.2)", compare=Raises(ValueError, "alpha"),
                hint="rejects alpha above 1")
    yield Probe(c, "train_student(torch.zeros(19, 10), torch.rand(20, 64), torch.arange(20) % 10,"
                   " 2.0, 0.5)", compare=Raises(ValueError, "shape"),
                hint="rejects teacher logits for other images")
    yield Probe(c, "train_student(torch.zeros(20, 10), torch.rand(20, 64), torch.arange(5), "
                   "2.0, 0.5)", compare=Raises(ValueError, "shape"),
                hint="rejects labels of the wrong shape")


def probes():
    """Every probe, in notebook order."""
    yield from _soft_targets()
    yield from _train_student()
