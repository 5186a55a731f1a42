"""Judge spec for ps03_ce_vs_mse (instructor only: the release ignores *.py files).

Each probe calls a student function inside the sandbox; the trusted judge compares the
result with what the solution in ps03_ce_vs_mse.py returns for the same call. The
probes are the notebook's only hidden checks: ``python -m autograder release`` writes a
block into each test cell that runs them (stock nbgrader), and the judge runs them in the
sandbox. They check other shapes, huge logits, float32 logits, errors and the training
runs; the probes marked ``visible=True`` repeat a visible test exactly (a wrong answer
there while the notebook's visible tests pass flags the submission tamper_suspected).
The training runs are judged by thresholds on what the trained model predicts for the
test images, whose labels stay here; the seeds are ones where the solution clears them
by a wide margin. The rules on how code is written ("NumPy only", "do not use PyTorch")
are RULES, read on the source. See autograder/spec.py.
"""

import math

import numpy as np

from autograder.requirements import BY_NAME, DESCRIBES, NOT_GRADED, WARNINGS_RULE
from autograder.spec import SAYS_WHY, Close, Exact, Probe, Raises, Rule, CheckClose
from infoloss.data import load_digits_split

WARM = ["numpy", "torch", "infoloss.device", "infoloss.testing"]
# The notebook trains 11 short runs, the judge 7 more: each takes well under a second
# alone, but leave room on a loaded machine.
LIMITS = {"memory": 4 * 2**30, "wall": 240.0, "chunk_timeout": 60.0, "probe_timeout": 60.0}

GRAD = Close(rtol=1e-10, atol=1e-14, dtype="float64")  # the notebook: vs autograd
VISIBLE = CheckClose()  # check_close's rule, for the probes that repeat a visible test
TIGHT = Close(rtol=1e-12)   # the visible tests that ask for rtol=1e-12


def _zero(atol: float) -> Close:
    """A visible ``check_close(x, 0.0, atol=atol)`` (its rtol stays check_close's)."""
    return Close(rtol=1e-7, atol=atol)


NUMPY_ONLY = "Tasks 1 and 2 are NumPy only: do not use PyTorch there"
NO_TORCH_HINGE = "multiclass_hinge: do not use PyTorch"
RULES = [Rule("test_softmax_ce_grad", ("softmax_ce_grad",), ("torch",), NUMPY_ONLY),
         Rule("test_softmax_mse_grad", ("softmax_mse_grad",), ("torch",), NUMPY_ONLY),
         Rule("test_multiclass_hinge", ("multiclass_hinge",), ("torch",), NO_TORCH_HINGE)]


def _number(value) -> float | None:
    """A 0-d float result (a Python float comes back as one) as a float, else None."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype == np.float64:
        return float(value)
    return None


def _history(got, epochs: int, what: str) -> tuple[list[float], list[float]] | str:
    """``[losses, test accuracies]`` as two lists of ``epochs`` floats, or what is wrong."""
    if not isinstance(got, list) or len(got) != 2 or not all(isinstance(v, list) for v in got):
        return f"{what}: expected a dict with the lists 'loss' and 'test_acc'"
    if any(len(v) != epochs for v in got):
        return f"{what}: expected one loss and one test accuracy per epoch ({epochs})"
    values = [[_number(x) for x in v] for v in got]
    if any(x is None for v in values for x in v):
        return f"{what}: the losses and accuracies must be Python floats"
    if not all(0.0 <= a <= 1.0 for a in values[1]):
        return f"{what}: test accuracies must lie in [0, 1]"
    return values[0], values[1]


class Run:
    """``[losses, test accuracies, predicted labels]`` of a ``train`` call, scored here.

    The accuracy is measured here, on the held-out labels. ``reported``: the last reported
    test_acc must be exactly that accuracy (the hidden tests of test_training check it,
    so a history measured on the training split fails there, and only there).
    """

    def __init__(self, labels, epochs, *, first_loss=None, min_acc=None, reported=False):
        self.labels, self.epochs = labels, epochs
        self.first_loss, self.min_acc, self.reported = first_loss, min_acc, reported

    def measure(self, got, what):
        """(losses, accuracy measured on the held-out labels) or a message."""
        if not isinstance(got, list) or len(got) != 3:
            return f"{what}: the run did not finish ({type(got).__name__})"
        hist = _history(got[:2], self.epochs, what)
        if isinstance(hist, str):
            return hist
        pred = got[2]
        if not isinstance(pred, np.ndarray) or pred.shape != self.labels.shape:
            return f"{what}: the trained model's predictions could not be checked"
        acc = float(np.mean(pred == self.labels))
        if self.reported and abs(hist[1][-1] - acc) > 1e-6:
            return (f"{what}: the last test_acc is not the trained model's accuracy on the "
                    "test split")
        return hist[0], acc

    def __call__(self, got, ref):
        out = self.measure(got, "train")
        if isinstance(out, str):
            return False, out
        losses, acc = out
        if self.first_loss is not None and abs(losses[0] - self.first_loss) > 0.05 * self.first_loss:
            return False, f"first loss {losses[0]:.3f}, expected about {self.first_loss:.3f}"
        if self.min_acc is not None and acc < self.min_acc:
            return False, f"test accuracy {acc:.3f} below {self.min_acc}"
        return True, f"test accuracy {acc:.3f}"


class Race(Run):
    """CE and MSE runs from the same saturated start: ``[CE run..., MSE run...]``."""

    def __call__(self, got, ref):
        if not isinstance(got, list) or len(got) != 6:
            return False, f"the runs did not finish ({type(got).__name__})"
        ce, mse = self.measure(got[:3], "CE run"), self.measure(got[3:], "MSE run")
        for out in (ce, mse):
            if isinstance(out, str):
                return False, out
        (ce_loss, ce_acc), (_, mse_acc) = ce, mse
        if ce_acc < 0.9:
            return False, f"CE from a saturated start reaches test accuracy {ce_acc:.3f} < 0.9"
        if mse_acc > ce_acc - 0.25:
            return False, f"MSE ({mse_acc:.3f}) should trail CE ({ce_acc:.3f}) by >= 0.25"
        if not ce_loss[-1] < 0.5 * ce_loss[0]:
            return False, "the CE loss should fall"
        return True, f"CE {ce_acc:.3f}, MSE {mse_acc:.3f}"


def _softmax_ce_grad():
    c = "test_softmax_ce_grad"
    yield Probe(c, "softmax_ce_grad(np.zeros((1, 4)), np.array([2]))", compare=VISIBLE,
                hint="CE gradient at uniform logits", visible=True)
    g = "softmax_ce_grad(np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]]), np.array([0, 1]))"
    yield Probe(c, f"{g}.sum(axis=1)", compare=_zero(1e-12),
                hint="each gradient row sums to 0", visible=True)
    yield Probe(c, f"{g}[0, 0]", compare=TIGHT, hint="p_y - 1 at the label", visible=True)
    yield Probe(c, "softmax_ce_grad(np.zeros((1, 5)), np.array([3]))", compare=GRAD,
                hint="uniform logits")
    rng = np.random.default_rng(331)
    for n, k, scale in ((9, 10, 1.0), (6, 4, 10.0), (5, 11, 1000.0), (1, 2, 0.1), (3, 7, 3e4)):
        z = rng.normal(scale=scale, size=(n, k))
        y = rng.integers(0, k, size=n)
        yield Probe(c, "softmax_ce_grad(z, y)", {"z": z, "y": y}, GRAD,
                    hint=f"a {n}x{k} batch at logit scale {scale:g}")
    wrong = np.zeros((1, 10))
    wrong[0, 6] = 14.0
    yield Probe(c, "softmax_ce_grad(wrong, np.array([0]))", {"wrong": wrong},
                Close(rtol=1e-12, atol=1e-14, dtype="float64"),
                hint="a confidently wrong example")
    yield Probe(c, "softmax_ce_grad(np.array([[1e4, -1e4, 0.0]]), np.array([1]))",
                compare=Close(rtol=1e-12, dtype="float64"), hint="logits of +-1e4")
    z32 = rng.normal(scale=2.0, size=(4, 3)).astype(np.float32)
    yield Probe(c, "softmax_ce_grad(z32, np.array([2, 0, 1, 1]))", {"z32": z32},
                Close(rtol=1e-12, atol=1e-15, dtype="float64"),
                hint="float32 logits give a float64 gradient")
    yield Probe(c, "softmax_ce_grad(np.zeros(4), np.array([1]))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects 1-D logits")
    yield Probe(c, "softmax_ce_grad(np.array([[1.0 + 2.0j, 0.5, 0.0]]), np.array([1]))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects complex logits")
    yield Probe(c, "softmax_ce_grad(np.zeros((3, 4)), np.array([0, 4, 1]))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects a label out of range")
    yield Probe(c, "softmax_ce_grad(np.zeros((3, 4)), np.array([0.0, 2.0, 1.0]))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects float labels")
    yield Probe(c, "softmax_ce_grad(np.zeros((3, 4)), np.array([0, 1]))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects too few labels")


def _softmax_mse_grad():
    c = "test_softmax_mse_grad"
    yield Probe(c, "softmax_mse_grad(np.zeros((1, 4)), np.array([2]))", compare=TIGHT,
                hint="MSE gradient at uniform logits", visible=True)
    yield Probe(c, "softmax_mse_grad(np.array([[0.3, -0.2, 1.0]]), np.array([1])).sum()",
                compare=_zero(1e-12), hint="the MSE gradient row sums to 0", visible=True)
    yield Probe(c, "softmax_mse_grad(np.zeros((1, 6)), np.array([5]))",
                compare=Close(rtol=1e-12, dtype="float64"), hint="uniform logits")
    rng = np.random.default_rng(332)
    for n, k, scale in ((8, 10, 1.0), (5, 4, 8.0), (3, 17, 1000.0), (2, 2, 0.5), (6, 3, 3.0)):
        z = rng.normal(scale=scale, size=(n, k))
        y = rng.integers(0, k, size=n)
        yield Probe(c, "softmax_mse_grad(z, y)", {"z": z, "y": y},
                    Close(rtol=1e-9, atol=1e-15, dtype="float64"),
                    hint=f"a {n}x{k} batch at logit scale {scale:g}")
    sat = np.zeros((1, 10))
    sat[0, 6] = 13.0
    yield Probe(c, "softmax_mse_grad(sat, np.array([2]))", {"sat": sat},
                Close(rtol=1e-9, atol=1e-20, dtype="float64"),
                hint="a saturated, confidently wrong example (tiny gradient)")
    yield Probe(c, "softmax_mse_grad(np.array([[-1e4, 0.0, 1e4]]), np.array([0]))",
                compare=Close(atol=1e-300, dtype="float64"),
                hint="logits of +-1e4 (fully saturated: 0)")
    z32 = rng.normal(size=(3, 5)).astype(np.float32)
    yield Probe(c, "softmax_mse_grad(z32, np.array([4, 0, 2]))", {"z32": z32},
                Close(rtol=1e-9, atol=1e-15, dtype="float64"),
                hint="float32 logits give a float64 gradient")
    yield Probe(c, "softmax_mse_grad(np.zeros((2, 4)), np.array([1, 6]))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects a label out of range")
    yield Probe(c, "softmax_mse_grad(np.zeros((2, 4, 1)), np.array([0, 1]))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects 3-D logits")


# Returns ``[losses, test accuracies, predicted test labels]`` of training ``model``.
TRAIN = ("(lambda m: (lambda h: [h['loss'], h['test_acc'], m(torch.from_numpy(X)).argmax(1)])"
         "(train(m, {loss}{args})))(make_classifier({scale}, seed={seed}))")
CE = "torch.nn.functional.cross_entropy"


def _training(X, labels):
    c = "test_training"
    yield Probe(c, "softmax_mse_loss(torch.tensor([[0.0, 0.0], [2.0, -1.0]]), "
                   "torch.tensor([0, 1])).item()", compare=Close(rtol=1e-6),
                hint="softmax_mse_loss of two examples (mean over the batch)", visible=True)
    z = np.array([[1.0, -1.0], [0.5, 2.5], [0.0, 0.0]], dtype=np.float32)
    yield Probe(c, "float(softmax_mse_loss(torch.from_numpy(z), torch.tensor([1, 1, 0])))",
                {"z": z}, Close(rtol=1e-6), hint="softmax_mse_loss of three examples (the mean)")
    yield Probe(c, "(lambda z: torch.autograd.grad(softmax_mse_loss(z, torch.tensor([1, 1, 0])), "
                   "z)[0])(torch.tensor(z, requires_grad=True))", {"z": z},
                Close(rtol=1e-5, atol=1e-7), hint="the autograd gradient of softmax_mse_loss")
    rng = np.random.default_rng(333)
    zb = rng.normal(scale=50.0, size=(7, 6))
    yb = rng.integers(0, 6, size=7)
    yield Probe(c, "float(softmax_mse_loss(torch.from_numpy(zb), torch.from_numpy(yb)))",
                {"zb": zb, "yb": yb}, Close(rtol=1e-12),
                hint="softmax_mse_loss of float64 logits at scale 50")
    yield Probe(c, "np.array(train(make_classifier(1.0, seed=3), "
                   f"{CE}, epochs=4, lr=0.0)['loss'], dtype=np.float64)",
                compare=Close(rtol=1e-6), hint="with lr = 0 the loss does not change")
    yield Probe(c, TRAIN.format(loss=CE, args=", epochs=4", scale=1.0, seed=4), {"X": X},
                Run(labels, 4, first_loss=math.log(10), reported=True),
                hint="a short CE run: per epoch one loss and the test-split accuracy; first loss ln 10")


def _ce_beats_mse(X, labels):
    c = "test_ce_beats_mse"
    # Seeds where the solution's CE run ends at 0.94-0.95 and MSE 0.40-0.45 behind (seed
    # 3, say, leaves MSE only 0.22 behind: such seeds would fail honest notebooks).
    for seed in (5, 7):
        race = " + ".join(TRAIN.format(loss=loss, args="", scale=20.0, seed=seed)
                          for loss in (CE, "softmax_mse_loss"))
        yield Probe(c, race, {"X": X}, Race(labels, 150),
                    hint=f"CE vs MSE from a saturated start, another seed ({seed})")
    yield Probe(c, TRAIN.format(loss="softmax_mse_loss", args="", scale=1.0, seed=6),
                {"X": X}, Run(labels, 150, min_acc=0.9),
                hint="MSE from a nearly uniform start, another seed")


FOCAL = "focal_loss_with_logits(torch.from_numpy(z), torch.from_numpy(t){args})"
FOCAL_GRAD = ("(lambda z: torch.autograd.grad(focal_loss_with_logits(z, torch.from_numpy(t){args})"
              ".sum(), z)[0])(torch.tensor(z, requires_grad=True))")
FOCAL_FINITE_GRAD = ("bool(torch.isfinite((lambda z: torch.autograd.grad(focal_loss_with_logits("
                     "z, torch.from_numpy(t){args}).sum(), z)[0])(torch.tensor(z, "
                     "requires_grad=True))).all())")


def _focal_loss():
    c = "test_focal_loss"
    six = Close(rtol=1e-6)
    fz, ft = "torch.tensor([-2.0, 0.0, 1.5, 3.0])", "torch.tensor([0.0, 1.0, 1.0, 0.0])"
    yield Probe(c, f"focal_loss_with_logits({fz}, {ft}, gamma=0.0)", compare=six,
                hint="gamma = 0 is BCE", visible=True)
    yield Probe(c, "focal_loss_with_logits(torch.tensor([3.0]), torch.tensor([1.0]), "
                   "reduction='none')", compare=Close(rtol=1e-5),
                hint="focal loss of an easy example", visible=True)
    yield Probe(c, "focal_loss_with_logits(torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.5, 0.5]]), "
                   "torch.tensor([0, 2]), gamma=0.0)", compare=six, hint="gamma = 0 is CE",
                visible=True)
    yield Probe(c, f"focal_loss_with_logits({fz}, {ft}, gamma=-1.0)",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects gamma = -1", visible=True)
    tol = {"float32": 1e-5, "float64": 1e-12}
    rng = np.random.default_rng(341)
    for dt in ("float32", "float64"):
        close = Close(rtol=tol[dt], atol=1e-30, dtype=dt)
        zb = (4 * rng.normal(size=16)).astype(dt)
        tb = np.r_[rng.integers(0, 2, size=11), rng.uniform(size=5)].astype(dt)
        case = {"z": zb, "t": tb}
        for args, hint in ((", gamma=0.0", "gamma = 0 is the binary cross-entropy (mean)"),
                           (", gamma=0.5, reduction='none'", "binary, soft targets, gamma 0.5"),
                           (", gamma=2.0, alpha=0.25, reduction='none'", "binary, gamma 2, alpha"),
                           (", gamma=5.0, alpha=0.8, reduction='sum'", "binary, reduction 'sum'"),
                           (", alpha=0.3", "binary, default gamma, mean over N")):
            yield Probe(c, FOCAL.format(args=args), case, close, hint=f"{hint} ({dt})")
        zm = (3 * rng.normal(size=(9, 6))).astype(dt)
        ym = rng.integers(0, 6, size=9)
        case = {"z": zm, "t": ym, "a": rng.uniform(0.2, 2.0, size=6).astype(dt)}
        for args, hint in ((", gamma=0.0", "gamma = 0 is the cross-entropy"),
                           (", gamma=1.0, reduction='none'", "multi-class, gamma 1"),
                           (", gamma=2.0, alpha=torch.from_numpy(a), reduction='none'",
                            "multi-class, gamma 2, class weights"),
                           (", gamma=0.0, alpha=torch.from_numpy(a)",
                            "gamma 0 with class weights: the weighted sum over N"),
                           (", gamma=5.0, reduction='sum'", "multi-class, reduction 'sum'")):
            yield Probe(c, FOCAL.format(args=args), case, close, hint=f"{hint} ({dt})")
        for big in (1e4, 1e30):
            case = {"z": np.array([big, -big, big, -big, 0.0, 3.0], dtype=dt),
                    "t": np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.5], dtype=dt)}
            for g in (0.0, 0.5, 2.0):
                args = f", gamma={g}, reduction='none'"
                yield Probe(c, FOCAL.format(args=args), case, close,
                            hint=f"binary logits of +-{big:g} ({dt}), gamma {g}")
                yield Probe(c, FOCAL_FINITE_GRAD.format(args=args), case, Exact(),
                            hint=f"a finite gradient at binary logits of +-{big:g} ({dt})")
            case = {"z": np.array([[big, 0.0, -big], [-big, big, 0.0], [0.0, -big, 0.0]], dtype=dt),
                    "t": np.array([0, 0, 1])}
            for g in (0.0, 0.5, 2.0):
                args = f", gamma={g}, reduction='none'"
                yield Probe(c, FOCAL.format(args=args), case, close,
                            hint=f"multi-class logits of +-{big:g} ({dt}), gamma {g}")
                yield Probe(c, FOCAL_FINITE_GRAD.format(args=args), case, Exact(),
                            hint=f"a finite gradient at multi-class logits of +-{big:g} ({dt})")
    # alpha is a float in [0, 1] and class weights are non-negative: the ends are allowed
    ends = {"z": np.array([-2.0, 0.5, 3.0, 1.0]), "t": np.array([0.0, 1.0, 0.3, 1.0])}
    for a in (0.0, 1.0):
        yield Probe(c, FOCAL.format(args=f", alpha={a}, reduction='none'"), ends,
                    Close(rtol=1e-12, atol=1e-300, dtype="float64"),
                    hint=f"binary alpha = {a:g} (an end of [0, 1])")
    yield Probe(c, FOCAL.format(args=", alpha=torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64), "
                                     "reduction='none'"),
                {"z": np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0], [0.0, 0.0, 3.0]]),
                 "t": np.array([0, 1, 2])}, Close(rtol=1e-12, atol=1e-300, dtype="float64"),
                hint="a class weight of 0 (allowed: the weights are non-negative)")
    yield Probe(c, FOCAL.format(args=", gamma=2.0, reduction='none'"),
                {"z": np.array([[1.0, -0.5], [0.0, 2.0], [3.0, 3.5]]), "t": np.array([0, 0, 1])},
                Close(rtol=1e-12, atol=1e-300, dtype="float64"),
                hint="multi-class with C = 2 classes (allowed: C >= 2)")
    yield Probe(c, FOCAL.format(args=", reduction='none'"),
                {"z": np.array([36.0, -30.0]), "t": np.array([1.0, 0.0])},
                Close(rtol=1e-10, dtype="float64"),
                hint="easy examples: tiny losses, computed from log-sigmoids")
    zg = rng.normal(size=(6, 5))
    yield Probe(c, FOCAL_GRAD.format(args=", gamma=2.0"),
                {"z": zg, "t": np.array([0, 4, 1, 1, 2, 3], dtype=np.int32)},
                Close(rtol=1e-9, atol=1e-15, dtype="float64"),
                hint="the multi-class gradient, int32 targets")
    zb = rng.normal(size=7)
    yield Probe(c, FOCAL_GRAD.format(args=", gamma=3.0, alpha=0.6"),
                {"z": zb, "t": np.array([0.0, 1.0, 1.0, 0.0, 0.2, 0.9, 1.0])},
                Close(rtol=1e-9, atol=1e-15, dtype="float64"), hint="the binary gradient")
    bad = Raises(ValueError, SAYS_WHY)
    z4, t4 = np.zeros(4), np.array([0.0, 1.0, 1.0, 0.0])
    for expr, case, hint in (
            (FOCAL.format(args=", gamma=-1.0"), {"z": z4, "t": t4}, "rejects a negative gamma"),
            (FOCAL.format(args=", gamma=float('nan')"), {"z": z4, "t": t4}, "rejects gamma NaN"),
            (FOCAL.format(args=", reduction='avg'"), {"z": z4, "t": t4},
             "rejects an unknown reduction"),
            (FOCAL.format(args=""), {"z": z4, "t": t4[:2]}, "rejects binary targets of another shape"),
            (FOCAL.format(args=""), {"z": z4, "t": np.array([0.0, 1.0, -0.5, 1.0])},
             "rejects binary targets outside [0, 1]"),
            (FOCAL.format(args=""), {"z": z4, "t": np.array([0.0, 1.5, 1.0, 1.0])},
             "rejects a binary target above 1"),
            (FOCAL.format(args=""), {"z": z4, "t": np.array([0.0, np.nan, 1.0, 1.0])},
             "rejects NaN targets"),
            (FOCAL.format(args=", alpha=-0.2"), {"z": z4, "t": t4}, "rejects alpha outside [0, 1]"),
            (FOCAL.format(args=", alpha=1.5"), {"z": z4, "t": t4}, "rejects a binary alpha above 1"),
            (FOCAL.format(args=""), {"z": np.zeros((2, 3, 2)), "t": np.array([0, 1])},
             "rejects 3-D logits"),
            (FOCAL.format(args=""), {"z": np.zeros((4, 1)), "t": np.zeros(4, dtype=np.int64)},
             "rejects one class"),
            (FOCAL.format(args=""), {"z": np.arange(4), "t": t4}, "rejects integer logits"),
            (FOCAL.format(args=""), {"z": np.zeros((4, 3)), "t": t4}, "rejects float class indices"),
            (FOCAL.format(args=""), {"z": np.zeros((4, 3)), "t": np.array([0, 1, 2])},
             "rejects too few class indices"),
            (FOCAL.format(args=""), {"z": np.zeros((3, 3)), "t": np.array([0, 3, 1])},
             "rejects a class index out of range"),
            (FOCAL.format(args=""), {"z": np.zeros((3, 3)), "t": np.array([0, -1, 1])},
             "rejects a negative class index"),
            (FOCAL.format(args=", alpha=torch.ones(2)"), {"z": np.zeros((3, 3)),
             "t": np.array([0, 1, 2])}, "rejects class weights of the wrong length"),
            (FOCAL.format(args=", alpha=torch.tensor([1.0, -1.0, 1.0])"),
             {"z": np.zeros((3, 3)), "t": np.array([0, 1, 2])}, "rejects negative class weights")):
        yield Probe(c, expr, case, bad, hint=hint)
F64 = Close(rtol=1e-12, atol=0.0, dtype="float64")


def _gaussian_nll():
    c = "test_gaussian_nll"
    yield Probe(c, "gaussian_nll(0.0, 0.0, 1.0)", compare=TIGHT,
                hint="Gaussian NLL at t = mu, sigma = 1", visible=True)
    yield Probe(c, "(lambda v: v - v[1])(gaussian_nll(np.array([0.0, 1.0, 3.0]), 1.0, 2.0))",
                compare=TIGHT, hint="NLL minus its value at t = mu, sigma = 2", visible=True)
    yield Probe(c, "gaussian_nll(0.0, 0.0, 0.0)", compare=Raises(ValueError, "sigma"),
                hint="rejects sigma = 0", visible=True)
    yield Probe(c, "gaussian_nll(0.5, 0.5, 2.0)", compare=F64, hint="t = mu: only the constant")
    rng = np.random.default_rng(441)
    t, mu, s = rng.normal(size=(2, 1, 3)), rng.normal(size=(4, 1)), rng.uniform(0.2, 2, size=3)
    yield Probe(c, "gaussian_nll(t, mu, s)", {"t": t, "mu": mu, "s": s}, F64,
                hint="broadcast (2,1,3) x (4,1) x (3,)")
    yield Probe(c, "gaussian_nll(-1.5, 0.25, 0.75)", compare=F64,
                hint="three numbers give a 0-d float64 array")
    t32 = rng.normal(size=4).astype(np.float32)
    yield Probe(c, "gaussian_nll(t32, np.array([0, 1, 2, 3]), np.float32(0.5))", {"t32": t32},
                F64, hint="float32 and integer inputs, computed in float64")
    yield Probe(c, "gaussian_nll(np.array([2.0, -1.0]), 0.0, 1e-7)",
                compare=Close(rtol=1e-12, dtype="float64"), hint="a tiny sigma")
    yield Probe(c, "gaussian_nll(np.zeros(3), 0.0, np.array([0.1, 1.0, 20.0]))", compare=F64,
                hint="NLL of a density at its mean, negative and positive")
    for expr, what, hint in (
            ("gaussian_nll(1.0, 0.0, -0.5)", "sigma", "rejects a negative sigma"),
            ("gaussian_nll(np.zeros(2), 0.0, np.array([1.0, 0.0]))", "sigma",
             "rejects a zero sigma in an array"),
            ("gaussian_nll(np.array([0.0, np.nan]), 0.0, 1.0)", "finite", "rejects NaN"),
            ("gaussian_nll(0.0, -np.inf, 1.0)", "finite", "rejects an infinite mu"),
            ("gaussian_nll(np.zeros(2), np.zeros(5), 1.0)", "broadcast",
             "rejects shapes that do not broadcast")):
        yield Probe(c, expr, compare=Raises(ValueError, what), hint=hint)


# (J, grad_W, grad_b) of the objective, one probe per part
OBJ = "softmax_regression_objective(W, b, X, y, lam)[{}]"


def _objective():
    c = "test_objective"
    vis = {"X": np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]]), "y": np.array([0, 2, 2])}
    at_zero = "softmax_regression_objective(np.zeros((3, 2)), np.zeros(3), X, y, 0.0)[{}]"
    for part, cmp, hint in ((0, TIGHT, "objective at zero weights, C = 3"),
                            (1, TIGHT, "grad_W at zero weights"),
                            (2, _zero(1e-12), "grad_b at zero weights")):
        yield Probe(c, at_zero.format(part), vis, cmp, hint=hint, visible=True)
    vis = dict(vis, W=np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]]),
               b=np.array([5.0, 0.0, -5.0]))
    diff = ("(lambda a, b: a[{0}] - b[{0}])(softmax_regression_objective(W, b, X, y, 0.5), "
            "softmax_regression_objective(W, b, X, y, 0.0))")
    for part, hint in ((0, "lam/2 ||W||^2 with ||W||^2 = 7"),
                       (1, "the regulariser's gradient lam W")):
        yield Probe(c, diff.format(part), vis, TIGHT, hint=hint, visible=True)
    yield Probe(c, "softmax_regression_objective(W, b, X, y, 0.5)[2]", vis, TIGHT,
                hint="grad_b does not depend on lam (lam = 0.5)")
    yield Probe(c, "isinstance(softmax_regression_objective(W, b, X, y, 0.5)[0], float)", vis,
                Exact(), hint="J is a float")
    rng = np.random.default_rng(442)
    cases = [(5, 4, 3, 1.0, 0.0), (8, 10, 6, 2.0, 0.05), (1, 2, 2, 0.3, 3.0),
             (6, 3, 4, 500.0, 1e-2)]
    for n, k, d, scale, lam in cases:
        inputs = {"W": rng.normal(scale=scale, size=(k, d)), "b": rng.normal(scale=scale, size=k),
                  "X": rng.normal(size=(n, d)), "y": rng.integers(0, k, size=n), "lam": lam}
        what = f"N={n}, C={k}, D={d}, weight scale {scale:g}, lam {lam:g}"
        yield Probe(c, OBJ.format(0), inputs, Close(rtol=1e-10, dtype="float64"),
                    hint=f"J as a float ({what})")
        for part, name in ((1, "grad_W"), (2, "grad_b")):
            yield Probe(c, OBJ.format(part), inputs, Close(rtol=1e-9, atol=1e-12,
                                                            dtype="float64"),
                        hint=f"{name} ({what})")
    # a large unregularised bias with a large lam: grad_b does not depend on lam
    big = {"W": np.array([[0.5], [-0.5], [0.0]]), "b": np.array([3.0, -1.0, 0.0]),
           "X": np.array([[1.0], [-2.0]]), "y": np.array([1, 2]), "lam": 20.0}
    for part in (0, 1, 2):
        yield Probe(c, OBJ.format(part), big, Close(rtol=1e-10, atol=1e-14, dtype="float64"),
                    hint="the bias is not regularised")
    huge = {"W": np.array([[0.0], [4000.0]]), "b": np.zeros(2), "X": np.ones((1, 1)),
            "y": np.array([0]), "lam": 0.0}
    for part in (0, 2):
        yield Probe(c, OBJ.format(part), huge, Close(rtol=1e-12, dtype="float64"),
                    hint="logits (0, 4000): finite, stable")
    f32 = {"W": np.full((3, 2), 0.5, dtype=np.float32), "b": np.zeros(3, dtype=np.float32),
           "X": np.ones((2, 2), dtype=np.float32), "y": np.array([2, 0]), "lam": 0.5}
    yield Probe(c, OBJ.format(1), f32, Close(rtol=1e-12, atol=1e-15, dtype="float64"),
                hint="float32 inputs give float64 gradients")
    zero = "np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), "
    for tail, what, hint in (
            ("np.array([0, 3]), 0.0", "label", "rejects a label out of range"),
            ("np.array([0.0, 1.0]), 0.0", "label", "rejects float labels"),
            ("np.array([0, 1, 2]), 0.0", "shape", "rejects the wrong number of labels"),
            ("np.array([0, 1]), -1.0", "lam", "rejects a negative lam"),
            ("np.array([0, 1]), np.inf", "lam", "rejects an infinite lam")):
        yield Probe(c, f"softmax_regression_objective({zero}{tail})",
                    compare=Raises(ValueError, what), hint=hint)
    yield Probe(c, "softmax_regression_objective(np.zeros((3, 2)), np.zeros(3), "
                   "np.zeros((2, 4)), np.array([0, 1]), 0.0)",
                compare=Raises(ValueError, "shape"), hint="rejects X with the wrong width")
    yield Probe(c, "softmax_regression_objective(np.zeros((3, 2)), np.zeros(4), "
                   "np.zeros((2, 2)), np.array([0, 1]), 0.0)",
                compare=Raises(ValueError, "shape"), hint="rejects a bias of the wrong length")
    yield Probe(c, "softmax_regression_objective(np.zeros((3, 2)), np.zeros(3), "
                   "np.zeros((0, 2)), np.zeros(0, dtype=np.int64), 0.0)",
                compare=Raises(ValueError, "shape"), hint="rejects X without examples (N >= 1)")


def _second_differences():
    c = "test_second_differences"
    tau = {"tau": np.linspace(-1, 1, 21)}
    yield Probe(c, "second_differences(3 * tau**2, 0.1)", tau, Close(rtol=1e-9),
                hint="second differences of 3 tau^2", visible=True)
    yield Probe(c, "second_differences(2 * tau + 1, 0.1)", tau, _zero(1e-9),
                hint="second differences of a line", visible=True)
    yield Probe(c, "second_differences([1.0, 2.0], 0.1)", compare=Raises(ValueError, "values"),
                hint="rejects two values", visible=True)
    rng = np.random.default_rng(443)
    f = np.cumsum(rng.normal(size=40))
    yield Probe(c, "second_differences(f, 0.05)", {"f": f}, Close(rtol=1e-12, atol=1e-9,
                                                                     dtype="float64"),
                hint="a random walk, h = 0.05")
    yield Probe(c, "second_differences(np.array([3, 1, 0, 1, 3]), 2)", compare=F64,
                hint="integer values, h = 2")
    yield Probe(c, "second_differences(np.array([0.5, 0.0, 0.5], dtype=np.float32), 0.25)",
                compare=F64, hint="float32 values give float64")
    x = np.linspace(-2, 2, 101)
    yield Probe(c, "second_differences(np.cosh(x), x[1] - x[0])", {"x": x},
                Close(rtol=1e-9, dtype="float64"), hint="cosh on a grid")
    for expr, what, hint in (
            ("second_differences(np.zeros(2), 0.1)", "values", "rejects fewer than 3 values"),
            ("second_differences(np.zeros((4, 2)), 0.1)", "values", "rejects 2-D values"),
            ("second_differences(np.array([0.0, np.inf, 1.0]), 0.1)", "finite",
             "rejects an infinite value"),
            ("second_differences(np.zeros(4), 0)", "h", "rejects h = 0"),
            ("second_differences(np.zeros(4), -0.5)", "h", "rejects a negative h")):
        yield Probe(c, expr, compare=Raises(ValueError, what), hint=hint)


LINE = "cost_along_line(W0, b0, D, d, X, y, taus, {!r})"


def _cost_along_line():
    c = "test_cost_along_line"
    vis = {"W0": np.zeros((2, 1)), "b0": np.zeros(2), "D": np.array([[1.0], [-1.0]]),
           "d": np.zeros(2), "X": np.ones((1, 1)), "y": np.array([0]),
           "taus": np.linspace(-4, 4, 81)}
    yield Probe(c, LINE.format("ce"), vis, Close(rtol=1e-10), hint="CE along the line",
                visible=True)
    yield Probe(c, LINE.format("mse"), vis, Close(rtol=1e-10, atol=1e-15),
                hint="squared error along the line", visible=True)
    rng = np.random.default_rng(444)
    line = {"W0": rng.normal(size=(5, 3)), "b0": rng.normal(size=5),
            "D": rng.normal(size=(5, 3)), "d": rng.normal(size=5),
            "X": rng.normal(size=(11, 3)), "y": rng.integers(0, 5, size=11),
            "taus": np.array([-500.0, -3.0, -0.5, 0.0, 1.0, 2.5, 500.0])}
    for loss in ("ce", "mse"):
        yield Probe(c, LINE.format(loss), line, Close(rtol=1e-9, atol=1e-300, dtype="float64"),
                    hint=f"{loss} along a random line, taus up to +-500")
    sig = {"W0": np.zeros((2, 1)), "b0": np.zeros(2), "D": np.array([[1.5], [-0.5]]),
           "d": np.array([0.0, 1.0]), "X": np.array([[1.0], [-1.0]]), "y": np.array([0, 1]),
           "taus": np.linspace(-3, 3, 13)}
    for loss in ("ce", "mse"):
        yield Probe(c, LINE.format(loss), sig, Close(rtol=1e-10, atol=1e-15, dtype="float64"),
                    hint=f"{loss} for two classes and two examples")
    zero = dict(line, W0=np.zeros((5, 3)), b0=np.zeros(5), taus=np.array([0.0]))
    for loss in ("ce", "mse"):
        yield Probe(c, LINE.format(loss), zero, Close(rtol=1e-12, dtype="float64"),
                    hint=f"{loss} at the uniform prediction")
    f32 = {k: (v.astype(np.float32) if k not in ("y",) else v) for k, v in line.items()}
    yield Probe(c, LINE.format("mse"), f32, Close(rtol=1e-5, atol=1e-12, dtype="float64"),
                hint="float32 inputs give a float64 cost")
    for changes, loss, what, hint in (
            ({}, "hinge", "loss", "rejects an unknown loss"),
            ({"d": np.zeros(4)}, "ce", "shape", "rejects a direction of the wrong shape"),
            ({"taus": np.zeros((2, 2))}, "mse", "shape", "rejects 2-D taus"),
            ({"b0": np.zeros(1)}, "ce", "shape", "rejects a b0 of length 1 (it would broadcast)"),
            ({"X": np.zeros((0, 3)), "y": np.zeros(0, dtype=np.int64)}, "mse", "shape",
             "rejects X without examples"),
            ({"y": np.full(11, 5)}, "ce", "label", "rejects a label out of range")):
        yield Probe(c, LINE.format(loss), dict(line, **changes),
                    compare=Raises(ValueError, what), hint=hint)


HINGE = Close(rtol=1e-12, atol=1e-14, dtype="float64")


def _multiclass_hinge():
    c = "test_multiclass_hinge"
    yield Probe(c, "multiclass_hinge(np.array([[3.0, 2.5, 0.0]]), np.array([0]))",
                compare=TIGHT, hint="hinge: only class 1 violates the margin 1", visible=True)
    yield Probe(c, "isinstance(multiclass_hinge(np.array([[3.0, 2.5, 0.0]]), np.array([0])), "
                   "float)", compare=Exact(), hint="a Python float", visible=True)
    yield Probe(c, "multiclass_hinge(np.array([[2.0, 1.0, -4.0]]), np.array([0]))",
                compare=Close(rtol=1e-7, atol=0.0), hint="hinge of an example with margin exactly 1",
                visible=True)
    yield Probe(c, "multiclass_hinge(np.zeros((2, 4)), np.array([0, 3]), margin=2.0)",
                compare=TIGHT, hint="hinge at equal logits, margin 2 (mean over 2 examples)",
                visible=True)
    yield Probe(c, "multiclass_hinge(np.zeros(3), np.array([0]))",
                compare=Raises(ValueError, "shape"), hint="rejects 1-D logits (visible)",
                visible=True)
    yield Probe(c, "multiclass_hinge(np.array([[1.0, 0.5, 1.5, -2.0]]), np.array([0]))",
                compare=HINGE, hint="one example, two wrong classes inside the margin")
    yield Probe(c, "multiclass_hinge(np.array([[4.0, 3.0, 0.0]]), np.array([0]))",
                compare=HINGE, hint="margin exactly 1: zero loss")
    yield Probe(c, "multiclass_hinge(np.zeros((3, 5)), np.array([0, 4, 2]), margin=1.5)",
                compare=HINGE, hint="equal logits: (C - 1) margins per example, mean over examples")
    rng = np.random.default_rng(341)
    for n, k, scale, delta in ((8, 10, 1.0, 1.0), (6, 3, 10.0, 0.5), (5, 12, 1e3, 1.0),
                               (1, 2, 0.1, 1.0), (7, 5, 2.0, 0.0), (4, 6, 1.0, 6.0)):
        z = rng.normal(scale=scale, size=(n, k))
        y = rng.integers(0, k, size=n)
        yield Probe(c, "multiclass_hinge(z, y, margin=delta)", {"z": z, "y": y, "delta": delta},
                    HINGE, hint=f"a {n}x{k} batch at logit scale {scale:g}, margin {delta:g}")
    z = rng.normal(size=(5, 4))
    y = rng.integers(0, 4, size=5)
    yield Probe(c, "multiclass_hinge(z, y)", {"z": z, "y": y}, HINGE, hint="the default margin")
    yield Probe(c, "multiclass_hinge(np.tile(z, (4, 1)), np.tile(y, 4))", {"z": z, "y": y},
                HINGE, hint="a repeated batch: the mean over examples, not the sum")
    yield Probe(c, "multiclass_hinge(np.array([[50.0, 0.0, -3.0, 1.0]]), np.array([0]))",
                compare=HINGE, hint="a well-classified example: the true class adds nothing")
    yield Probe(c, "multiclass_hinge(np.array([[0.0, 0.5]]), np.array([0]))", compare=HINGE,
                hint="a wrong class ahead of the true one")
    yield Probe(c, "multiclass_hinge(np.array([[2.0], [-3.0], [0.0]]), np.array([0, 0, 0]))",
                compare=HINGE, hint="one class: no wrong classes")
    yield Probe(c, "multiclass_hinge(np.array([[0.5, 0.5, 0.0]]), np.array([1]), margin=0.0)",
                compare=HINGE, hint="margin 0 with a tie")
    z32 = rng.normal(size=(4, 3)).astype(np.float32)
    yield Probe(c, "multiclass_hinge(z32, np.array([2, 0, 1, 1]))", {"z32": z32}, HINGE,
                hint="float32 logits, computed in float64")
    yield Probe(c, "multiclass_hinge([[2, 5], [1, 0], [0, 0]], [0, 0, 1])", compare=HINGE,
                hint="integer logits given as lists")
    yield Probe(c, "multiclass_hinge(z, y.astype(np.int32), margin=np.float64(0.25))",
                {"z": z, "y": y}, HINGE, hint="int32 labels and a NumPy margin")
    yield Probe(c, "multiclass_hinge(np.array([[-1e4, 1e4, 0.0]]), np.array([0]))",
                compare=HINGE, hint="logits of +-1e4")
    for expr, match, hint in (
            ("multiclass_hinge(np.zeros((2, 2, 2)), np.array([0, 1]))", "shape", "3-D logits"),
            ("multiclass_hinge(np.zeros(4), np.array([0]))", "shape", "1-D logits"),
            ("multiclass_hinge(np.zeros((0, 4)), np.zeros(0, dtype=int))", "shape", "no examples"),
            ("multiclass_hinge(np.array([[1.0, np.nan]]), np.array([1]))", "finite", "NaN logits"),
            ("multiclass_hinge(np.array([[1.0 + 2.0j, 0.5]]), np.array([1]))", "real",
             "complex logits"),
            ("multiclass_hinge(np.array([[-np.inf, 0.0]]), np.array([1]))", "finite",
             "infinite logits"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0, 4, 1]))", "label", "label too large"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0, -2, 1]))", "label", "negative label"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0.0, 2.0, 1.0]))", "label",
             "float labels"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0, 1]))", "label", "too few labels"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0, 1, 2]), margin=-0.5)", "margin",
             "a negative margin"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0, 1, 2]), margin=np.inf)", "margin",
             "an infinite margin"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0, 1, 2]), margin=False)", "margin",
             "a boolean margin"),
            ("multiclass_hinge(np.zeros((3, 4)), np.array([0, 1, 2]), margin=None)", "margin",
             "a margin that is not a number")):
        yield Probe(c, expr, compare=Raises(ValueError, match), hint=f"rejects {hint}")


def probes():
    """Every probe, in notebook order."""
    split = load_digits_split()
    X = (split.X_test.reshape(len(split.X_test), -1) / 16.0).astype(np.float32)
    yield from _softmax_ce_grad()
    yield from _softmax_mse_grad()
    yield from _training(X, split.y_test)
    yield from _ce_beats_mse(X, split.y_test)
    yield from _focal_loss()
    yield from _gaussian_nll()
    yield from _objective()
    yield from _second_differences()
    yield from _cost_along_line()
    yield from _multiclass_hinge()


# Each rule the notebook's text states, and the probes (by hint) or RULES that check it
# (autograder/requirements.py; `python -m autograder requirements ps03_ce_vs_mse`).
REQUIREMENTS = {
    "Optimiser: `torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)`": [
        "a short CE run: per epoch one loss and the test-split accuracy; first loss ln 10",
        "with lr = 0 the loss does not change"],
    "Replace every `raise NotImplementedError()`": BY_NAME,
    "Do not rename the functions": BY_NAME,
    "more tests, hidden here": DESCRIBES,
    "Tasks 1 and 2 are NumPy only": [f"rule: {NUMPY_ONLY}"],
    "A graded call that warns": WARNINGS_RULE,
    "C-1`; return a float64 array of shape `(N, C)`": [
        "float32 logits give a float64 gradient", "a 9x10 batch at logit scale 1",
        "CE gradient at uniform logits"],
    "It must work for logits of any size (thousands)": [
        "a 5x11 batch at logit scale 1000", "a 3x7 batch at logit scale 30000",
        "logits of +-1e4", WARNINGS_RULE],
    "Raise `ValueError` with a helpful message when `z` is not 2-D": [
        "rejects 1-D logits", "rejects complex logits", "rejects a label out of range",
        "rejects float labels", "rejects too few labels", "rejects 3-D logits"],
    "Implement `softmax_mse_grad(z, y)`": [
        "a 8x10 batch at logit scale 1", "a 3x17 batch at logit scale 1000",
        "float32 logits give a float64 gradient", "logits of +-1e4 (fully saturated: 0)",
        "rejects a label out of range", "rejects 3-D logits"],
    "(a) Implement `softmax_mse_loss(logits, y)` in PyTorch": [
        "softmax_mse_loss of three examples (the mean)",
        "softmax_mse_loss of float64 logits at scale 50"],
    "It must be differentiable by autograd": ["the autograd gradient of softmax_mse_loss"],
    "this answer is graded by hand": NOT_GRADED,
    "C-1` (any integer dtype)": ["the multi-class gradient, int32 targets"],
    "The result has the logits' dtype": [
        "binary, gamma 2, alpha (float32)", "binary, gamma 2, alpha (float64)",
        "multi-class, gamma 1 (float32)", "multi-class, gamma 1 (float64)"],
    "Numerics (the heart of the task)": [
        "easy examples: tiny losses, computed from log-sigmoids",
        "binary logits of +-1e+30 (float32), gamma 2.0",
        "multi-class logits of +-1e+30 (float64), gamma 0.5"],
    "Then the loss and its gradient are finite and correct for logits as large as": [
        "binary logits of +-1e+30 (float32), gamma 0.0",
        "a finite gradient at binary logits of +-1e+30 (float32)",
        "a finite gradient at multi-class logits of +-1e+30 (float64)",
        "gamma = 0 is the binary cross-entropy (mean) (float64)",
        "gamma = 0 is the cross-entropy (float32)",
        "gamma 0 with class weights: the weighted sum over N (float64)"],
    "Raise `ValueError` with a message that names the problem when: `logits` is not 1-D": [
        "rejects 3-D logits", "rejects integer logits", "rejects a negative gamma",
        "rejects gamma NaN", "rejects an unknown reduction",
        "rejects binary targets of another shape", "rejects binary targets outside [0, 1]",
        "rejects a binary target above 1", "rejects NaN targets", "rejects alpha outside [0, 1]",
        "rejects a binary alpha above 1", "multi-class with C = 2 classes (allowed: C >= 2)",
        "binary alpha = 0 (an end of [0, 1])", "binary alpha = 1 (an end of [0, 1])",
        "a class weight of 0 (allowed: the weights are non-negative)", "rejects one class",
        "rejects float class indices", "rejects too few class indices",
        "rejects a class index out of range", "rejects class weights of the wrong length",
        "rejects negative class weights"],
    "`t`, `mu` and `sigma` are numbers or arrays that NumPy can broadcast": [
        "broadcast (2,1,3) x (4,1) x (3,)", "three numbers give a 0-d float64 array",
        "float32 and integer inputs, computed in float64"],
    "Raise `ValueError` when a `sigma` is not positive": [
        "rejects a negative sigma", "rejects a zero sigma in an array", "rejects NaN",
        "rejects an infinite mu", "rejects shapes that do not broadcast"],
    "Return a tuple `(J, grad_W, grad_b)`": [
        "J is a float", "J as a float (N=5, C=4, D=3, weight scale 1, lam 0)",
        "grad_W (N=8, C=10, D=6, weight scale 2, lam 0.05)",
        "grad_b (N=8, C=10, D=6, weight scale 2, lam 0.05)"],
    "Compute in float64, and stably: logits in the thousands": [
        "float32 inputs give float64 gradients", "logits (0, 4000): finite, stable",
        "J as a float (N=6, C=3, D=4, weight scale 500, lam 0.01)"],
    "Raise `ValueError` when a shape does not fit (mention `shape`), when the labels": [
        "rejects a label out of range", "rejects float labels",
        "rejects the wrong number of labels", "rejects a negative lam",
        "rejects an infinite lam", "rejects X with the wrong width",
        "rejects a bias of the wrong length", "rejects X without examples (N >= 1)"],
    "(a) Implement `second_differences(values, h)`": [
        "a random walk, h = 0.05", "integer values, h = 2", "float32 values give float64"],
    "Raise `ValueError` when `values` is not 1-D": [
        "rejects fewer than 3 values", "rejects 2-D values", "rejects an infinite value",
        "rejects h = 0", "rejects a negative h"],
    "(b) Implement `cost_along_line(": [
        "ce along a random line, taus up to +-500", "mse along a random line, taus up to +-500",
        "ce at the uniform prediction", "mse at the uniform prediction"],
    "Return a float64 array of shape `(T,)`, finite for logits in the thousands": [
        "float32 inputs give a float64 cost", "ce along a random line, taus up to +-500"],
    "Raise `ValueError` for an unknown `loss`": [
        "rejects an unknown loss", "rejects a direction of the wrong shape",
        "rejects 2-D taus", "rejects a b0 of length 1 (it would broadcast)",
        "rejects X without examples", "rejects a label out of range"],
    "It is exactly zero once every wrong logit": [
        "margin exactly 1: zero loss", "a well-classified example: the true class adds nothing"],
    "Return the **mean over the N examples** as a Python `float`": [
        "a Python float", "a repeated batch: the mean over examples, not the sum",
        "float32 logits, computed in float64", "one class: no wrong classes"],
    "Raise `ValueError` with a message that names the problem when the logits are not 2-D": [
        "rejects 3-D logits", "rejects 1-D logits", "rejects no examples",
        "rejects complex logits", "rejects NaN logits",
        "rejects infinite logits", "rejects label too large", "rejects negative label",
        "rejects float labels", "rejects too few labels", "rejects a negative margin",
        "rejects an infinite margin", "rejects a boolean margin",
        "rejects a margin that is not a number"],
    "No loop over examples is needed; do not use PyTorch": [f"rule: {NO_TORCH_HINGE}"],
}
