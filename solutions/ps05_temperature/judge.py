"""Judge spec for ps05_temperature (instructor only: the release ignores *.py files).

Each probe calls a student function inside the sandbox; the trusted judge compares the
result with what the solution in ps05_temperature.py returns for the same call. The
probes of a test cell check what the cell's visible and hidden tests check, on other
inputs and seeds, so an honest notebook and the judge agree (a disagreement flags the
submission tamper_suspected). The training task is judged by the hidden tests'
thresholds on what the student's function reports and on what the model it trained
predicts for the test images, whose labels stay here. See autograder/spec.py.
"""

import math

import numpy as np

from autograder.requirements import BY_NAME, DESCRIBES, WARNINGS_RULE
from autograder.spec import SAYS_WHY, CheckClose, Close, Exact, Probe, Raises
from infoloss.data import load_digits_split

WARM = ["numpy", "torch", "scipy.optimize", "scipy.special", "infoloss.device",
        "infoloss.testing"]
# Seven short training runs (the notebook's and two probes'): room beyond the defaults.
LIMITS = {"memory": 4 * 2**30, "wall": 180.0}

T_RANGE = Close(rtol=2e-3, dtype="float64")  # fit_temperature is asked for a relative 1e-3


def _visible(c, expr, hint, rtol=1e-7, expected=None, atol=0.0, inputs=None):
    """A probe that repeats one visible check_close of cell ``c``."""
    return Probe(c, expr, inputs or {}, CheckClose(rtol, atol, expected=expected), hint, visible=True)


class SharperBy5:
    """The visible test of task 1: T of 5 * logits is a float in (2, 10), and 5 times the T
    of the logits within a relative 3e-3 (``[T(5 z), 5 T(z)]``)."""

    def __call__(self, got, ref):
        if not isinstance(got, list) or len(got) != 2 or not all(
                isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind == "f" for v in got):
            return False, "expected two temperatures as floats"
        sharp, five = float(got[0]), float(got[1])
        if not 2.0 < sharp < 10.0:
            return False, f"logits 5x too sharp should need T well above 1; got T = {sharp}"
        if abs(sharp - five) > 3e-3 * abs(five):
            return False, "T of 5 * logits is not 5 times T of the logits"
        return True, "ok"


class InRange:
    """Any temperature the search may return, as a float: for one class the NLL is 0 at
    every T, so no T is better than another and the task leaves the choice open."""

    def __call__(self, got, ref):
        if not isinstance(got, np.ndarray) or got.shape != () or got.dtype.kind != "f":
            return False, "expected a temperature as a float"
        if not 0.01 * (1 - 1e-9) <= float(got) <= 100.0 * (1 + 1e-9):
            return False, f"T = {float(got)} is outside the range [0.01, 100]"
        return True, "ok"


def _overconfident(seed, n=1500, c=6, acc=0.75):
    """Logits whose top class is right about ``acc`` of the time, by a margin of 4."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, size=n)
    z = rng.normal(size=(n, c))
    z[np.arange(n), np.where(rng.random(n) < acc, y, (y + 2) % c)] += 4.0
    return z, y


def _fit_temperature():
    c = "test_fit_temperature"
    rng = np.random.default_rng(0)   # the visible test's logits
    y0 = rng.integers(0, 5, size=2000)
    z0 = rng.normal(size=(2000, 5))
    z0[np.arange(2000), np.where(rng.random(2000) < 0.8, y0, (y0 + 1) % 5)] += 4.0
    yield Probe(c, "[fit_temperature(5 * z, y), 5 * fit_temperature(z, y)]", {"z": z0, "y": y0},
                SharperBy5(), "logits 5 times too sharp need 5 times the temperature",
                visible=True)
    yield Probe(c, "fit_temperature(np.zeros(5), np.zeros(5, dtype=int))",
                compare=Raises(ValueError, "shape"), hint="rejects 1-D logits (five zeros)",
                visible=True)
    z, y = _overconfident(50)
    yield Probe(c, "fit_temperature(z, y)", {"z": z, "y": y}, T_RANGE,
                hint="logits of a model right 75% of the time")
    yield Probe(c, "fit_temperature(6 * z, y)", {"z": z, "y": y}, T_RANGE,
                hint="the same logits made 6 times too sharp")
    for scale, seed in ((1.0, 51), (6.0, 52), (0.4, 53)):
        rng = np.random.default_rng(seed)
        yy = rng.integers(0, 8, size=400)
        zz = rng.normal(size=(400, 8)) * 2
        zz[np.arange(400), yy] += rng.normal(3.0, 2.0, size=400)
        yield Probe(c, "fit_temperature(zz, yy)", {"zz": zz * scale, "yy": yy}, T_RANGE,
                    hint=f"logits at scale {scale}")
    yield Probe(c, "fit_temperature(z / 8, y)", {"z": z, "y": y}, T_RANGE,
                hint="under-confident logits (T < 1)")
    sure = np.eye(3)[[2, 0, 1, 1, 2, 0]] * 2.5
    yield Probe(c, "fit_temperature(sure, np.array([2, 0, 1, 1, 2, 0]))", {"sure": sure},
                Close(rtol=1e-3), hint="every prediction right: the lower end of the range")
    zw = np.random.default_rng(54).normal(size=(40, 4))
    yield Probe(c, "fit_temperature(zw, np.argmin(zw, axis=1))", {"zw": zw},
                Close(rtol=1e-3), hint="every label on the smallest logit: the upper end")
    yield Probe(c, "fit_temperature(z.astype(np.float32), y)", {"z": z, "y": y}, T_RANGE,
                hint="float32 logits")
    yield Probe(c, "fit_temperature(z[:4].tolist(), y[:4].tolist())", {"z": z, "y": y}, T_RANGE,
                hint="lists")
    yield Probe(c, "fit_temperature(np.ones(6), np.zeros(6, dtype=int))",
                compare=Raises(ValueError, "shape"), hint="rejects 1-D logits")
    yield Probe(c, "fit_temperature(z, y[:-3])", {"z": z, "y": y},
                compare=Raises(ValueError, "shape"), hint="rejects labels of the wrong shape")
    yield Probe(c, "fit_temperature(z, y + 6)", {"z": z, "y": y},
                compare=Raises(ValueError, "label"), hint="rejects labels out of range")
    yield Probe(c, "fit_temperature(z, np.where(np.arange(len(y)) == 3, 6, y))", {"z": z, "y": y},
                compare=Raises(ValueError, "label"),
                hint="rejects the label C (one past the last class)")
    yield Probe(c, "fit_temperature(np.full((5, 1), 2.0), np.zeros(5, dtype=int))",
                compare=InRange(), hint="one class is a valid input (a flat NLL: any T in range)")
    yield Probe(c, "fit_temperature(np.array([[0.0, np.inf], [1.0, 2.0]]), np.array([1, 0]))",
                compare=Raises(ValueError, "finite"), hint="rejects infinite logits")
    yield Probe(c, "fit_temperature(np.array([[0.5, 1.0, np.nan]]), np.array([2]))",
                compare=Raises(ValueError, "finite"), hint="rejects NaN logits")
    yield Probe(c, "fit_temperature(np.zeros((0, 4)), np.zeros(0, dtype=int))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects empty logits")


def _expected_calibration_error():
    c = "test_expected_calibration_error"
    yield _visible(c, "expected_calibration_error(np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1, 2, 0]], "
                      "np.array([0, 1, 2, 0, 1, 2, 0, 2, 0, 1]))",
                   "always sure, right 7 times out of 10", 1e-12, 0.3)
    yield _visible(c, "expected_calibration_error(np.tile([0.6, 0.4], (5, 1)), "
                      "np.array([0, 0, 0, 1, 1]), n_bins=1)", "60% sure, right 3 times out of 5",
                   0.0, 0.0, atol=1e-12)
    yield Probe(c, "expected_calibration_error([[0.5, 0.6]], [0])",
                compare=Raises(ValueError, "sum"), visible=True,
                hint="rejects the row [0.5, 0.6]")
    sure = np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]]
    yield Probe(c, "expected_calibration_error(sure, np.array([0, 1, 2, 3, 1, 1, 0, 3]))",
                {"sure": sure}, Close(rtol=1e-12, dtype="float64"),
                hint="a model always sure and right 75% of the time")
    flat = np.tile([0.3, 0.7], (10, 1))
    yield Probe(c, "expected_calibration_error(flat, np.array([1] * 7 + [0] * 3), n_bins=1)",
                {"flat": flat}, Close(atol=1e-12), hint="a calibrated single bin")
    # confidences k/8 (exact in binary), on the edges of 8, 4 and 2 bins, and one between
    edges = np.zeros((9, 8))
    for i, row in enumerate(([1 / 8] * 8, [0.25] * 4, [0.375, 0.375, 0.25], [0.5, 0.25, 0.25],
                             [0.125, 0.625, 0.25], [0, 0, 0.75, 0.25], [0.125, 0, 0, 0, 0.875],
                             [0, 0, 0, 1.0], [0.2, 0.1, 0, 0, 0, 0, 0.7])):
        edges[i, :len(row)] = row
    ye = np.array([0, 0, 1, 0, 1, 2, 4, 3, 0])
    for n in (8, 4, 2):
        yield Probe(c, f"expected_calibration_error(edges, ye, n_bins={n})",
                    {"edges": edges, "ye": ye}, Close(rtol=1e-12),
                    hint=f"confidences on the bin edges (n_bins={n}): bins are (lo, hi]")
    yield Probe(c, "expected_calibration_error(np.array([[0.25, 0.25, 0.5], [0.4, 0.4, 0.2]]), "
                   "np.array([2, 1]), n_bins=3)", compare=Close(rtol=1e-12),
                hint="a tie predicts the lowest index")
    rng = np.random.default_rng(55)
    pr = rng.dirichlet(np.full(8, 0.3), size=2500)
    yr = np.where(rng.random(2500) < 0.65, pr.argmax(1), rng.integers(0, 8, 2500))
    for n in (15, 12, 5, 1, 33):
        yield Probe(c, f"expected_calibration_error(pr, yr, n_bins={n})", {"pr": pr, "yr": yr},
                    Close(rtol=1e-10), hint=f"model outputs with {n} bins")
    yield Probe(c, "expected_calibration_error(pr, yr)", {"pr": pr, "yr": yr}, Close(rtol=1e-10),
                hint="model outputs with the default n_bins")
    pc = rng.dirichlet(np.ones(4), size=40_000)
    yc = (rng.random(40_000)[:, None] > np.cumsum(pc, axis=1)).sum(axis=1)
    yield Probe(c, "expected_calibration_error(pc, yc)", {"pc": pc, "yc": yc},
                Close(rtol=1e-10), hint="a calibrated model (ECE near 0)")
    yield Probe(c, "expected_calibration_error(pr.astype(np.float32), yr)", {"pr": pr, "yr": yr},
                Close(rtol=1e-6), hint="float32 probabilities")
    zero_row = np.array([[0.5, 0.5], [0.0, 0.0], [0.0, 1.0]])
    yield Probe(c, "expected_calibration_error(zero_row, np.array([0, 1, 1]))",
                {"zero_row": zero_row}, Raises(ValueError, "sum"),
                hint="rejects a row of zeros")
    yield Probe(c, "expected_calibration_error([[0.3, 0.3, 0.3]], [0])",
                compare=Raises(ValueError, "sum"), hint="rejects a row that does not sum to 1")
    yield Probe(c, "expected_calibration_error(pr, yr[:7])", {"pr": pr, "yr": yr},
                compare=Raises(ValueError, "shape"), hint="rejects labels of the wrong shape")
    yield Probe(c, "expected_calibration_error(pr, yr - 8)", {"pr": pr, "yr": yr},
                compare=Raises(ValueError, "label"), hint="rejects labels out of range")
    yield Probe(c, "expected_calibration_error(pr, np.where(np.arange(len(yr)) == 5, 8, yr))",
                {"pr": pr, "yr": yr}, Raises(ValueError, "label"),
                hint="rejects the label C (one past the last class)")
    yield Probe(c, "expected_calibration_error(pr, yr[:, None])", {"pr": pr, "yr": yr},
                Raises(ValueError, "shape"), hint="rejects labels as a column (N, 1)")
    yield Probe(c, "expected_calibration_error(np.zeros((0, 3)), np.zeros(0, dtype=int))",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects empty probabilities")
    yield Probe(c, "expected_calibration_error([[0.5, 0.5], [1 + 5e-7, 0.0]], [0, 0])",
                compare=Raises(ValueError, SAYS_WHY),
                hint="rejects an entry above 1 in a row that sums to 1 within 1e-6")
    yield Probe(c, "expected_calibration_error([[0.5, 0.5], [0.5, 0.50005]], [0, 1])",
                compare=Raises(ValueError, "sum"),
                hint="rejects a row whose sum is off by more than 1e-6 (but less than 1e-4)")
    yield Probe(c, "expected_calibration_error([[-0.5, 1.5]], [1])",
                compare=Raises(ValueError, SAYS_WHY), hint="rejects entries outside [0, 1]")
    yield Probe(c, "expected_calibration_error(pr, yr, n_bins=-3)", {"pr": pr, "yr": yr},
                compare=Raises(ValueError, "n_bins"), hint="rejects a negative n_bins")
    yield Probe(c, "expected_calibration_error(pr, yr, n_bins=0)", {"pr": pr, "yr": yr},
                compare=Raises(ValueError, "n_bins"), hint="rejects n_bins = 0")
    yield Probe(c, "expected_calibration_error(pr, yr, n_bins=7.5)", {"pr": pr, "yr": yr},
                compare=Raises(ValueError, "n_bins"), hint="rejects a fractional n_bins")
    yield Probe(c, "expected_calibration_error(np.array([0.2, 0.8]), [1])",
                compare=Raises(ValueError, "shape"), hint="rejects 1-D probabilities")


# The loss and, for the float64 cases, its gradient with respect to the student's logits.
KD = ("distillation_loss(torch.from_numpy(s), torch.from_numpy(t), torch.from_numpy(y), "
      "{T}, {alpha})")
KD_GRAD = ("(lambda s: torch.autograd.grad(distillation_loss(s, torch.from_numpy(t), "
           "torch.from_numpy(y), {T}, {alpha}), s)[0])(torch.tensor(s, requires_grad=True))")
# How much gradient reaches the teacher's logits (none may: the teacher is fixed).
KD_TEACHER_GRAD = ("(lambda t: (distillation_loss(torch.tensor(s, requires_grad=True), t, "
                   "torch.from_numpy(y), 2.5, 0.6).backward(), "
                   "0.0 if t.grad is None else float(t.grad.abs().sum()))[1])"
                   "(torch.tensor(t, requires_grad=True))")


def _distillation_loss():
    c = "test_distillation_loss"
    visible = ("distillation_loss(torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]], "
               "dtype=torch.float64, requires_grad=True), torch.tensor([[3.0, 1.0, -2.0], "
               "[0.0, 1.0, 0.0]], dtype=torch.float64), torch.tensor([0, 1]), T={T}, alpha={a})")
    yield _visible(c, visible.format(T=1.0, a=0.0), "alpha = 0 is plain CE (the visible logits)",
                   1e-12)
    yield _visible(c, visible.format(T=2.0, a=1.0), "alpha = 1, T = 2: 4 * KL (the visible "
                   "logits)", 1e-12)
    rng = np.random.default_rng(56)
    s = np.array([[1.0, -0.5, 2.0], [0.0, 0.25, -1.0]])
    t = np.array([[2.0, 0.0, 1.0], [-1.0, 0.5, 0.0]])
    y = np.array([2, 1])
    small = {"s": s, "t": t, "y": y}
    yield Probe(c, KD.format(T=1.0, alpha=0.0), small, Close(rtol=1e-12, dtype="float64"),
                hint="alpha = 0 is plain cross-entropy")
    yield Probe(c, KD.format(T=3.0, alpha=1.0), small, Close(rtol=1e-12, dtype="float64"),
                hint="alpha = 1, T = 3: 9 times the KL")
    for T, alpha, n, k in ((1.0, 0.4, 12, 8), (5.0, 0.8, 6, 4), (15.0, 0.2, 20, 10),
                           (0.7, 0.6, 5, 3)):
        case = {"s": 3 * rng.normal(size=(n, k)), "t": 3 * rng.normal(size=(n, k)),
                "y": rng.integers(0, k, size=n)}
        yield Probe(c, KD.format(T=T, alpha=alpha), case, Close(rtol=1e-10, dtype="float64"),
                    hint=f"the loss at T={T}, alpha={alpha}")
        yield Probe(c, KD_GRAD.format(T=T, alpha=alpha), case,
                    Close(rtol=1e-8, atol=1e-14, dtype="float64"),
                    hint=f"the gradient at T={T}, alpha={alpha}")
    f32 = {"s": rng.normal(size=(7, 5)).astype(np.float32),
           "t": rng.normal(size=(7, 5)).astype(np.float32), "y": rng.integers(0, 5, size=7)}
    yield Probe(c, KD.format(T=2.0, alpha=1.0), f32, Close(rtol=1e-5, dtype="float32"),
                hint="alpha = 1 with float32 logits")
    yield Probe(c, KD.format(T=2.0, alpha=1.0).replace("from_numpy(y)", "from_numpy((y + 2) % 5)"),
                f32, Close(rtol=1e-5, dtype="float32"), hint="alpha = 1 ignores the labels")
    yield Probe(c, KD.format(T=2.0, alpha=0.0).replace("from_numpy(t)", "from_numpy(-t)"),
                f32, Close(rtol=1e-5, dtype="float32"), hint="alpha = 0 ignores the teacher")
    yield Probe(c, KD.format(T=4.0, alpha=1.0).replace("from_numpy(t)", "from_numpy(s)"),
                f32, Close(atol=1e-6, dtype="float32"), hint="student = teacher: no soft loss")
    yield Probe(c, KD.format(T=2.0, alpha=0.3), f32, Close(rtol=1e-5, dtype="float32"),
                hint="float32 logits give a float32 loss")
    yield Probe(c, KD_TEACHER_GRAD, f32, Close(atol=0.0), hint="no gradient reaches the teacher")
    big = {"s": np.array([[-1e4, 0.0, 1e4], [3.0, 1e4, -1e4]], dtype=np.float32),
           "t": np.array([[1e4, -1e4, 0.0], [-1e4, 0.0, 1e4]], dtype=np.float32),
           "y": np.array([0, 2])}
    yield Probe(c, KD.format(T=3.0, alpha=0.5), big, Close(rtol=1e-5, dtype="float32"),
                hint="logits of 1e4 give a finite loss")
    yield Probe(c, KD.format(T=0.0, alpha=0.5), f32, Raises(ValueError, "T"),
                hint="rejects T = 0")
    yield Probe(c, KD.format(T=-2.0, alpha=0.5), f32, Raises(ValueError, "T"),
                hint="rejects a negative T")
    yield Probe(c, KD.format(T=2.0, alpha=-0.1), f32, Raises(ValueError, "alpha"),
                hint="rejects alpha below 0")
    yield Probe(c, KD.format(T=2.0, alpha=1.25), f32, Raises(ValueError, "alpha"),
                hint="rejects alpha above 1")
    yield Probe(c, KD.format(T=2.0, alpha=0.5).replace("from_numpy(t)", "from_numpy(t[:, 1:])"),
                f32, Raises(ValueError, "shape"), hint="rejects logits of different shapes")
    yield Probe(c, KD.format(T=2.0, alpha=0.5).replace("from_numpy(y)", "from_numpy(y[1:])"),
                f32, Raises(ValueError, "label"), hint="rejects labels that do not match")


# Trains with the student's function and returns what it reports plus the predictions of
# the BoundedNet it built (caught by a hook when it registers its layers) for the test
# images `X`.
TRAIN = """(lambda seen: (lambda hook, report: (hook.remove(), [
        report["losses"], report["test_accuracy"], report["test_confidence"],
        seen["model"](torch.from_numpy(X).to(next(seen["model"].parameters()).device))
        .argmax(dim=1)])[1])(
    torch.nn.modules.module.register_module_module_registration_hook(
        lambda m, name, sub: seen.update(model=m) if isinstance(m, BoundedNet) else None),
    train_bounded_classifier({T}, seed={seed})))({{}})"""


class Trained:
    """The hidden tests' thresholds on one training run; predictions scored here."""

    def __init__(self, labels, T, accuracy, steps=300):
        self.labels, self.T, self.accuracy, self.steps = labels, T, accuracy, steps

    def __call__(self, got, ref):
        if not isinstance(got, list) or len(got) != 4 or not isinstance(got[0], list):
            return False, ("expected a dict with losses, test_accuracy and test_confidence, "
                           "from a BoundedNet trained by the function")
        losses, acc, conf, pred = got
        floats = [v for v in losses if isinstance(v, np.ndarray) and v.shape == ()
                  and v.dtype == np.float64]
        if len(losses) != self.steps or len(floats) != self.steps:
            return False, f"expected a list of {self.steps} losses as Python floats"
        if not all(isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind == "f"
                   for v in (acc, conf)):
            return False, "expected test_accuracy and test_confidence as floats"
        losses = [float(v) for v in losses]
        acc, conf = float(acc), float(conf)
        if not isinstance(pred, np.ndarray) or pred.shape != self.labels.shape:
            return False, "the trained model's predictions could not be checked"
        measured = float(np.mean(pred == self.labels))
        if abs(measured - acc) > 1.5 / len(self.labels):
            return False, "test_accuracy is not the accuracy of the trained model"
        if measured <= self.accuracy:
            return False, f"test accuracy {measured:.3f} not above {self.accuracy}"
        if self.T == 1.0:
            floor = math.log1p(9 * math.exp(-10 / 9))  # NormFace bound, 10 classes, scale 1
            cap = math.e / (math.e + 9 / math.e)
            if min(losses) <= floor - 0.02:
                return False, f"loss {min(losses):.3f} below the floor {floor:.3f} of cosines"
            if conf > cap + 1e-6:
                return False, f"confidence {conf:.3f} above what cosine logits allow"
        else:
            if losses[-1] >= 0.05 or losses[0] <= 1.5:
                return False, "the loss should start high and end near 0 at T = 0.1"
            if conf <= 0.9:
                return False, f"test confidence {conf:.3f} at T = 0.1"
        return True, f"accuracy {measured:.3f}"


def _bounded_classifier():
    c = "test_bounded_classifier"
    yield _visible(c, "cosine_logits(torch.tensor([[3.0, 4.0], [0.0, -2.0]]), "
                      "torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))",
                   "cosine_logits of the visible example", 1e-6,
                   [[0.6, 0.8, -0.7 * 2**0.5], [0.0, -1.0, 2**-0.5]])
    feats = np.array([[0.0, 5.0], [-3.0, 4.0], [2.0, 2.0]], dtype=np.float32)
    w = np.array([[0.0, 2.0], [1.0, 0.0], [1.0, -1.0], [-2.0, -2.0]], dtype=np.float32)
    yield Probe(c, "cosine_logits(torch.from_numpy(feats), torch.from_numpy(w))",
                {"feats": feats, "w": w}, Close(rtol=1e-6, atol=1e-7, dtype="float32"),
                hint="cosine_logits of a small example")
    rng = np.random.default_rng(57)
    big = {"feats": rng.normal(size=(15, 6)) * 1e3, "w": rng.normal(size=(5, 6))}
    yield Probe(c, "cosine_logits(torch.from_numpy(feats), torch.from_numpy(w))", big,
                Close(rtol=1e-10, atol=1e-14, dtype="float64"),
                hint="float64 features keep their dtype")
    yield Probe(c, "cosine_logits(torch.from_numpy(feats * 1e-6), torch.from_numpy(w * 40))",
                big, Close(rtol=1e-8, atol=1e-12), hint="cosines do not depend on the scale")
    yield Probe(c, "cosine_logits(torch.zeros(3, 6, dtype=torch.float64), torch.from_numpy(w))",
                big, Close(atol=0.0), hint="a zero feature row gives cosines of 0")
    # rows of norm 1e-11 (normalised) and 1e-13 (divided by 1e-12 instead: cosines / 10)
    unit = big["feats"][:4] / np.linalg.norm(big["feats"][:4], axis=1, keepdims=True)
    tiny = {"tf": unit * np.array([[1e-11], [1e-13], [1.0], [3e-12]]), "w": big["w"],
            "tw": big["w"] / np.linalg.norm(big["w"], axis=1, keepdims=True)
            * np.array([[1e-11], [1e-13], [1.0], [2.0], [5e-13]]), "feats": big["feats"]}
    yield Probe(c, "cosine_logits(torch.from_numpy(tf), torch.from_numpy(w))", tiny,
                Close(rtol=1e-8, atol=1e-12, dtype="float64"),
                hint="tiny feature rows: divided by max(norm, 1e-12)")
    yield Probe(c, "cosine_logits(torch.from_numpy(feats), torch.from_numpy(tw))", tiny,
                Close(rtol=1e-8, atol=1e-12, dtype="float64"),
                hint="tiny class vectors: divided by max(norm, 1e-12)")
    yield Probe(c, "(lambda f: torch.autograd.grad(cosine_logits(f, torch.from_numpy(w)).sum(), "
                   "f)[0])(torch.tensor(feats[:4] / 1e3, requires_grad=True))", big,
                Close(rtol=1e-8, atol=1e-12), hint="cosine_logits is differentiable")
    yield Probe(c, "cosine_logits(torch.from_numpy(feats), torch.from_numpy(w[:, :4]))", big,
                Raises(ValueError, SAYS_WHY), hint="rejects feature sizes that differ")
    yield Probe(c, "cosine_logits(torch.from_numpy(feats[0]), torch.from_numpy(w))", big,
                Raises(ValueError, SAYS_WHY), hint="rejects 1-D features")
    yield Probe(c, "train_bounded_classifier(0.0)", compare=Raises(ValueError, "T"),
                hint="rejects T = 0")
    yield Probe(c, "len(train_bounded_classifier(1.0, steps=12, seed=1)['losses'])",
                compare=Exact(), hint="one loss per step")
    split = load_digits_split()
    X = (split.X_test.reshape(len(split.X_test), -1) / 16.0).astype(np.float32)
    yield Probe(c, TRAIN.format(T=1.0, seed=5), {"X": X}, Trained(split.y_test, 1.0, 0.8),
                hint="training at T = 1, another seed: loss floor, accuracy, confidence")
    yield Probe(c, TRAIN.format(T=0.1, seed=5), {"X": X}, Trained(split.y_test, 0.1, 0.93),
                hint="training at T = 0.1, another seed: loss, accuracy, confidence")


def _brier_score():
    c = "test_brier_score"
    exact = Close(rtol=1e-12, dtype="float64")
    yield _visible(c, "brier_score(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), "
                      "np.array([0, 2]))", "sure and right, sure and wrong", 1e-12, 1.0)
    yield _visible(c, "brier_score(np.full((4, 5), 0.2), np.array([0, 1, 4, 4]))",
                   "the uniform forecast over 5 classes", 1e-12, 0.8)
    yield Probe(c, "brier_score([[0.5, 0.6]], [0])", compare=Raises(ValueError, "sum"),
                visible=True, hint="rejects the row [0.5, 0.6]")
    yield Probe(c, "brier_score(np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), "
                   "np.array([1, 1, 1]))", compare=exact,
                hint="sure forecasts, right twice and wrong once")
    yield Probe(c, "brier_score(np.full((3, 8), 0.125), np.array([0, 7, 3]))", compare=exact,
                hint="the uniform forecast scores 1 - 1/C: summed over classes, not averaged")
    rng = np.random.default_rng(60)
    for n, k, a in ((1, 3, 1.0), (9, 4, 0.4), (400, 10, 0.5), (50, 60, 0.1)):
        case = {"pb": rng.dirichlet(np.full(k, a), size=n), "yb": rng.integers(0, k, size=n)}
        yield Probe(c, "brier_score(pb, yb)", case, exact,
                    hint=f"{n} forecasts over {k} classes")
    q1 = rng.random(40)
    two = {"q2": np.stack([1 - q1, q1], 1), "y2": (rng.random(40) < 0.4).astype(int)}
    yield Probe(c, "brier_score(q2, y2)", two, exact,
                hint="two classes: twice the binary Brier score")
    truth = {"pt": np.array([0.5, 0.25, 0.25]), "qf": np.array([0.7, 0.2, 0.1])}
    yield Probe(c, "sum(pt[k] * brier_score(qf[None], np.array([k])) for k in range(3))", truth,
                exact, hint="the expected score under the truth: ||p - q||^2 + 1 - ||p||^2")
    yield Probe(c, "sum(pt[k] * brier_score(pt[None], np.array([k])) for k in range(3))", truth,
                exact, hint="the honest forecast's expected score, 1 - ||p||^2")
    f32 = {"pf": rng.dirichlet(np.ones(5), size=25).astype(np.float32),
           "yf": rng.integers(0, 5, size=25)}
    yield Probe(c, "brier_score(pf, yf)", f32, exact, hint="float32 probs, computed in float64")
    yield Probe(c, "brier_score(pf.tolist(), yf.tolist())", f32, exact, hint="lists")
    yield Probe(c, "brier_score(np.array([[0.5, 0.0, 0.5]]), np.array([1], dtype=np.int16))",
                compare=exact, hint="a zero probability on the label")
    yield Probe(c, "brier_score(np.ones((3, 1)), np.zeros(3, dtype=int))", compare=exact,
                hint="one class is a valid input: every forecast sure and right")
    yield Probe(c, "brier_score([[0.5, 0.7]], [0])", compare=Raises(ValueError, "sum"),
                hint="rejects a row that does not sum to 1")
    yield Probe(c, "brier_score([[0.0, 0.0, 0.0]], [2])", compare=Raises(ValueError, "sum"),
                hint="rejects a row of zeros")
    yield Probe(c, "brier_score([[0.5, 0.50005]], [1])", compare=Raises(ValueError, "sum"),
                hint="rejects a row whose sum is off by more than 1e-6 (but less than 1e-4)")
    yield Probe(c, "brier_score([[1 + 5e-7, 0.0], [0.5, 0.5]], [0, 1])",
                compare=Raises(ValueError, "probabilit"),
                hint="rejects an entry above 1 in a row that sums to 1 within 1e-6")
    yield Probe(c, "brier_score(np.array([0.5, 0.5]), [0])", compare=Raises(ValueError, "shape"),
                hint="rejects 1-D probabilities")
    yield Probe(c, "brier_score(np.zeros((0, 2)), np.zeros(0, dtype=int))",
                compare=Raises(ValueError, "shape"), hint="rejects empty probabilities")
    yield Probe(c, "brier_score([[-0.25, 1.25]], [1])", compare=Raises(ValueError, "probabilit"),
                hint="rejects entries outside [0, 1]")
    yield Probe(c, "brier_score([[0.5, np.nan]], [0])", compare=Raises(ValueError, "probabilit"),
                hint="rejects NaN")
    yield Probe(c, "brier_score(pf, yf[:-2])", f32, Raises(ValueError, "shape"),
                hint="rejects labels of the wrong shape")
    yield Probe(c, "brier_score(pf, yf + 5)", f32, Raises(ValueError, "label"),
                hint="rejects labels out of range")
    yield Probe(c, "brier_score(pf, yf - 5)", f32, Raises(ValueError, "label"),
                hint="rejects negative labels")
    yield Probe(c, "brier_score(pf, np.where(np.arange(len(yf)) == 2, 5, yf))", f32,
                Raises(ValueError, "label"), hint="rejects the label C (one past the last class)")
    yield Probe(c, "brier_score(pf, yf.astype(np.float64))", f32, Raises(ValueError, "label"),
                hint="rejects float labels")
    yield Probe(c, "brier_score(pf[:2], np.array([False, True]))", f32,
                Raises(ValueError, "label"), hint="rejects boolean labels")


def _ece_equal_mass():
    c = "test_ece_equal_mass"
    exact = Close(rtol=1e-12, dtype="float64")
    pm = np.array([[0.6, 0.4], [0.65, 0.35], [0.7, 0.3], [0.8, 0.2], [0.85, 0.15], [0.9, 0.1]])
    shown = {"pm": pm, "ym": np.array([1, 1, 0, 0, 0, 0])}
    yield _visible(c, "ece_equal_mass(pm, ym, n_bins=2)", "the visible six forecasts", 1e-12,
                   0.5 * abs(1 / 3 - 0.65) + 0.5 * abs(1.0 - 0.85), inputs=shown)
    yield Probe(c, "ece_equal_mass(pm, ym, n_bins=0)", shown, Raises(ValueError, "n_bins"),
                hint="rejects n_bins = 0 (the visible forecasts)", visible=True)
    six = {"pm": np.array([[0.4, 0.6], [0.3, 0.7], [0.25, 0.75], [0.2, 0.8], [0.1, 0.9],
                           [0.05, 0.95]]), "ym": np.array([1, 0, 1, 1, 0, 1])}
    yield Probe(c, "ece_equal_mass(pm, ym, n_bins=2)", six, exact,
                hint="two equal-mass bins of three forecasts")
    yield Probe(c, "ece_equal_mass(pm, ym, n_bins=0)", six, Raises(ValueError, "n_bins"),
                hint="rejects n_bins = 0")
    # N = 5 and M = 4, N = 9 and M = 4 or 8: edges fall exactly on confidences, (lo, hi] decides
    five = {"p5": np.array([[0.35, 0.65], [0.85, 0.15], [0.6, 0.4], [0.25, 0.75], [0.5, 0.5]]),
            "y5": np.array([1, 0, 1, 1, 0])}
    yield Probe(c, "ece_equal_mass(p5, y5, n_bins=4)", five, exact,
                hint="edges exactly on the confidences: B_1 = [b_0, b_1], then (lo, hi]")
    nine = {"p9": np.array([[c_, 1 - c_] for c_ in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85,
                                                     0.9)]), "y9": np.array([0, 1, 1, 0, 0, 1,
                                                                             0, 0, 1])}
    for n in (4, 8, 2):
        yield Probe(c, f"ece_equal_mass(p9, y9, n_bins={n})", nine, exact,
                    hint=f"edges on the confidences ({n} bins of nine forecasts)")
    ties = {"pt": np.array([[0.6, 0.4]] * 5 + [[0.1, 0.9]] * 3), "yt": np.array(
        [0, 1, 0, 1, 1, 1, 1, 0])}
    yield Probe(c, "ece_equal_mass(pt, yt, n_bins=4)", ties, exact,
                hint="tied confidences share one bin; the others are empty")
    yield Probe(c, "ece_equal_mass(pt, yt, n_bins=2)", ties, exact,
                hint="bins of unequal size are weighted by |B_m| / N")
    yield Probe(c, "ece_equal_mass(np.full((6, 3), 1 / 3), np.array([0, 1, 2, 0, 0, 1]))",
                compare=Close(atol=1e-15), hint="a constant forecast: all edges equal")
    yield Probe(c, "ece_equal_mass(np.array([[0.4, 0.4, 0.2], [0.5, 0.5, 0.0]]), "
                   "np.array([1, 1]), n_bins=2)", compare=exact,
                hint="a tie in a row predicts the lowest index")
    rng = np.random.default_rng(61)
    pr = rng.dirichlet(np.full(8, 0.3), size=1200)
    yr = np.where(rng.random(1200) < 0.65, pr.argmax(1), rng.integers(0, 8, 1200))
    model = {"pr": pr, "yr": yr}
    for n in (15, 12, 5, 1, 33):
        yield Probe(c, f"ece_equal_mass(pr, yr, n_bins={n})", model, Close(rtol=1e-10),
                    hint=f"model outputs with {n} bins")
    yield Probe(c, "ece_equal_mass(pr, yr)", model, Close(rtol=1e-10),
                hint="model outputs with the default n_bins")
    yield Probe(c, "ece_equal_mass(pr[:5], yr[:5], n_bins=12)", model, Close(rtol=1e-10),
                hint="more bins than forecasts")
    pc = rng.dirichlet(np.ones(4), size=40_000)
    yc = (rng.random(40_000)[:, None] > np.cumsum(pc, axis=1)).sum(axis=1)
    yield Probe(c, "ece_equal_mass(pc, yc)", {"pc": pc, "yc": yc}, Close(rtol=1e-10),
                hint="a calibrated model (near 0)")
    yield Probe(c, "ece_equal_mass(pr.astype(np.float32), yr)", model, Close(rtol=1e-6),
                hint="float32 probabilities")
    yield Probe(c, "ece_equal_mass(pr[:10].tolist(), yr[:10].tolist(), n_bins=4)", model,
                Close(rtol=1e-10), hint="lists")
    yield Probe(c, "ece_equal_mass(pr, yr[:-4])", model, Raises(ValueError, "shape"),
                hint="rejects labels of the wrong shape")
    yield Probe(c, "ece_equal_mass(pr, yr + 8)", model, Raises(ValueError, "label"),
                hint="rejects labels out of range")
    yield Probe(c, "ece_equal_mass([[-0.1, 1.1]], [0])", compare=Raises(ValueError, "probabilit"),
                hint="rejects entries outside [0, 1]")
    yield Probe(c, "ece_equal_mass([[0.2, 0.2]], [0])", compare=Raises(ValueError, "sum"),
                hint="rejects a row that does not sum to 1")
    yield Probe(c, "ece_equal_mass(np.array([0.3, 0.7]), [1])",
                compare=Raises(ValueError, "shape"), hint="rejects 1-D probabilities")
    yield Probe(c, "ece_equal_mass(pr, yr, n_bins=-4)", model, Raises(ValueError, "n_bins"),
                hint="rejects a negative n_bins")
    yield Probe(c, "ece_equal_mass(pr, yr, n_bins=3.5)", model, Raises(ValueError, "n_bins"),
                hint="rejects a fractional n_bins")
    yield Probe(c, "ece_equal_mass(pr, yr, n_bins=True)", model, Raises(ValueError, "n_bins"),
                hint="rejects a boolean n_bins")


AM = ("additive_margin_logits(torch.from_numpy(c), torch.from_numpy(y), {s}, {m}, "
      "kind={kind!r})")


def _additive_margin_logits():
    c = "test_additive_margin_logits"
    shown = {"c": np.array([[0.8, 0.6, -0.2], [0.0, 0.5, 1.0]]), "y": np.array([0, 2])}
    yield _visible(c, AM.format(s=10.0, m=0.3, kind="cosface"), "CosFace on the visible cosines",
                   1e-12, [[5.0, 6.0, -2.0], [0.0, 5.0, 7.0]], inputs=shown)
    yield _visible(c, AM.format(s=10.0, m=0.3, kind="arcface"), "ArcFace on the visible cosines",
                   1e-12, [[10 * math.cos(math.acos(0.8) + 0.3), 6.0, -2.0],
                           [0.0, 5.0, 10 * math.cos(0.3)]], inputs=shown)
    yield _visible(c, AM.format(s=4.0, m=0.0, kind="arcface"), "ArcFace with margin 0 on the "
                   "visible cosines", 1e-12, 4 * shown["c"], inputs=shown)
    yield Probe(c, AM.format(s=10.0, m=0.3, kind="sphereface"), shown,
                Raises(ValueError, "kind"), "rejects the kind 'sphereface'", visible=True)
    rng = np.random.default_rng(57)
    small = {"c": np.array([[0.6, 0.8, 0.0], [-0.5, 0.25, 0.9]]), "y": np.array([1, 0])}
    f64 = Close(rtol=1e-10, atol=1e-12, dtype="float64")
    for kind in ("cosface", "arcface"):
        yield Probe(c, AM.format(s=10.0, m=0.3, kind=kind), small, f64,
                    hint=f"{kind}: a small example")
        yield Probe(c, AM.format(s=4.0, m=0.0, kind=kind), small, f64,
                    hint=f"{kind}: margin 0 gives scale * cosines")
        for n, k, s, m in ((9, 10, 10.0, 0.35), (4, 3, 30.0, 0.5), (1, 2, 1.0, 0.1),
                           (5, 6, 64.0, 1.3)):
            case = {"c": rng.uniform(-0.99, 0.99, size=(n, k)), "y": rng.integers(0, k, size=n)}
            yield Probe(c, AM.format(s=s, m=m, kind=kind), case, f64,
                        hint=f"{kind}: a {n}x{k} batch, s = {s:g}, m = {m:g}")
        case = {"c": rng.uniform(-0.9, 0.9, size=(4, 5)), "y": np.array([1, 4, 0, 0])}
        yield Probe(c, "(lambda x: torch.stack([additive_margin_logits(x, torch.from_numpy(y), "
                       f"10.0, 0.3, kind={kind!r}), x]))(torch.from_numpy(c).clone())", case,
                    f64, hint=f"{kind}: the cosines are not modified in place")
        yield Probe(c, "(lambda x: torch.autograd.grad(additive_margin_logits(x, "
                       f"torch.from_numpy(y), 8.0, 0.4, kind={kind!r}).pow(2).sum(), x)[0])"
                       "(torch.from_numpy(c).requires_grad_(True))", case,
                    Close(rtol=1e-9, atol=1e-12, dtype="float64"),
                    hint=f"{kind}: the gradient with respect to the cosines")
        c32 = {"c": rng.uniform(-1, 1, size=(3, 4)).astype(np.float32), "y": np.array([2, 0, 3])}
        yield Probe(c, AM.format(s=5.0, m=0.2, kind=kind), c32,
                    Close(rtol=1e-5, atol=1e-5, dtype="float32"),
                    hint=f"{kind}: float32 cosines give float32 logits")
        yield Probe(c, AM.format(s=3, m=0, kind=kind), c32,
                    Close(rtol=1e-5, atol=1e-6, dtype="float32"),
                    hint=f"{kind}: integer scale and margin 0")
    edge = {"c": np.array([[1.0 + 1e-9, 0.2], [-1.0 - 1e-9, 0.1], [-0.9, 0.3],
                           [math.cos(2.2), 0.0]]), "y": np.zeros(4, dtype=np.int64)}
    yield Probe(c, AM.format(s=10.0, m=0.5, kind="arcface"), edge, f64,
                hint="ArcFace: the cosine is clamped to [-1, 1] and theta + m clipped at pi")
    yield Probe(c, AM.format(s=10.0, m=4.0, kind="arcface"), edge, f64,
                hint="ArcFace with a margin larger than pi")
    yield Probe(c, "additive_margin_logits(torch.from_numpy(c), torch.from_numpy(y), 10.0, 0.3)",
                small, f64, hint="the default kind is CosFace")
    bad = [("additive_margin_logits(c, torch.from_numpy(y), 10.0, 0.3, kind={kind!r})", "cosines",
            "a NumPy array"),
           ("additive_margin_logits(torch.from_numpy(c[0]), torch.from_numpy(y[:1]), 10.0, 0.3, "
            "kind={kind!r})", "cosines", "1-D cosines"),
           ("additive_margin_logits(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 1.0, 0.1, "
            "kind={kind!r})", "cosines", "empty cosines"),
           ("additive_margin_logits(torch.tensor([[1, 0]]), torch.tensor([0]), 1.0, 0.1, "
            "kind={kind!r})", "cosines", "integer cosines"),
           ("additive_margin_logits(torch.tensor([[0.2, float('inf')]]), torch.tensor([1]), 1.0, "
            "0.1, kind={kind!r})", "finite", "infinite cosines"),
           ("additive_margin_logits(torch.tensor([[float('nan'), 0.2]]), torch.tensor([1]), 1.0, "
            "0.1, kind={kind!r})", "finite", "NaN cosines"),
           ("additive_margin_logits(torch.from_numpy(c), torch.tensor([0, 3]), 10.0, 0.3, "
            "kind={kind!r})", "label", "a label out of range"),
           ("additive_margin_logits(torch.from_numpy(c), torch.tensor([-1, 0]), 10.0, 0.3, "
            "kind={kind!r})", "label", "a negative label"),
           ("additive_margin_logits(torch.from_numpy(c), torch.tensor([1.0, 0.0]), 10.0, 0.3, "
            "kind={kind!r})", "label", "float labels"),
           ("additive_margin_logits(torch.from_numpy(c), torch.tensor([1, 0, 2]), 10.0, 0.3, "
            "kind={kind!r})", "label", "too many labels"),
           (AM.replace("{s}", "0.0").replace("{m}", "0.3"), "scale", "scale 0"),
           (AM.replace("{s}", "-1.0").replace("{m}", "0.3"), "scale", "a negative scale"),
           (AM.replace("{s}", "float('nan')").replace("{m}", "0.3"), "scale", "a NaN scale"),
           (AM.replace("{s}", "float('inf')").replace("{m}", "0.3"), "scale",
            "an infinite scale"),
           (AM.replace("{s}", "10.0").replace("{m}", "-0.2"), "margin", "a negative margin"),
           (AM.replace("{s}", "10.0").replace("{m}", "float('inf')"), "margin",
            "an infinite margin"),
           (AM.replace("{s}", "10.0").replace("{m}", "False"), "margin", "a boolean margin")]
    for kind in ("cosface", "arcface"):
        for expr, match, hint in bad:
            yield Probe(c, expr.format(kind=kind), small, Raises(ValueError, match),
                        hint=f"{kind}: rejects {hint}")
    yield Probe(c, AM.format(s=10.0, m=0.3, kind="normface"), small, Raises(ValueError, "kind"),
                hint="rejects an unknown kind")


def probes():
    """Every probe, in notebook order."""
    yield from _fit_temperature()
    yield from _expected_calibration_error()
    yield from _distillation_loss()
    yield from _bounded_classifier()
    yield from _brier_score()
    yield from _ece_equal_mass()
    yield from _additive_margin_logits()


AM_REJECTS = [f"{kind}: rejects {what}" for kind in ("cosface", "arcface") for what in (
    "a NumPy array", "1-D cosines", "empty cosines", "integer cosines", "infinite cosines",
    "NaN cosines", "a label out of range", "a negative label", "float labels", "too many labels",
    "scale 0", "a negative scale", "a NaN scale", "an infinite scale", "a negative margin",
    "an infinite margin", "a boolean margin")] + [
    "rejects an unknown kind", "rejects the kind 'sphereface'"]
EM_REJECTS = ["rejects labels of the wrong shape", "rejects labels out of range",
              "rejects entries outside [0, 1]", "rejects a row that does not sum to 1",
              "rejects 1-D probabilities", "rejects n_bins = 0", "rejects a negative n_bins",
              "rejects a fractional n_bins", "rejects a boolean n_bins",
              "rejects n_bins = 0 (the visible forecasts)"]

# Each rule the notebook's text states, and the probes (by hint) that check it
# (autograder/requirements.py; `python -m autograder requirements ps05_temperature`).
REQUIREMENTS = {
    "You will fit a temperature for calibration": DESCRIBES,
    "Replace every `raise NotImplementedError()`": BY_NAME,
    "Do not rename the functions": BY_NAME,
    "A graded call that warns": WARNINGS_RULE,
    "accurate to a relative `1e-3`": [
        "logits of a model right 75% of the time", "the same logits made 6 times too sharp",
        "logits at scale 1.0", "under-confident logits (T < 1)"],
    "no gradient may flow into `teacher_logits`": ["no gradient reaches the teacher"],
    "If the NLL keeps falling towards one end of the range": [
        "every prediction right: the lower end of the range",
        "every label on the smallest logit: the upper end"],
    "Compute log-probabilities stably": [
        "the same logits made 6 times too sharp", "logits at scale 6.0", WARNINGS_RULE],
    "Raise `ValueError` (saying what is wrong) when `logits` is not 2-D or empty": [
        "rejects 1-D logits", "rejects empty logits", "rejects NaN logits",
        "rejects infinite logits", "rejects labels of the wrong shape",
        "rejects labels out of range", "rejects 1-D logits (five zeros)",
        "rejects the label C (one past the last class)",
        "one class is a valid input (a flat NLL: any T in range)"],
    "Every row must be a probability distribution": [
        "rejects a row that does not sum to 1", "rejects a row of zeros",
        "rejects entries outside [0, 1]", "float32 probabilities",
        "rejects an entry above 1 in a row that sums to 1 within 1e-6",
        "rejects a row whose sum is off by more than 1e-6 (but less than 1e-4)"],
    "So a confidence is never below $1/C$": [
        f"confidences on the bin edges (n_bins={n}): bins are (lo, hi]" for n in (8, 4, 2)],
    "Raise `ValueError` for a `probs` that is not 2-D or empty": [
        "rejects 1-D probabilities", "rejects a row of zeros", "rejects a row that does not sum to 1",
        "rejects labels of the wrong shape", "rejects labels out of range", "rejects n_bins = 0",
        "rejects a negative n_bins", "rejects a fractional n_bins", "rejects the row [0.5, 0.6]",
        "rejects empty probabilities", "rejects labels as a column (N, 1)",
        "rejects the label C (one past the last class)"],
    "Return a 0-d tensor with the dtype and device of `student_logits`": [
        "alpha = 0 is plain cross-entropy", "float32 logits give a float32 loss",
        "the gradient at T=1.0, alpha=0.4", "the gradient at T=15.0, alpha=0.2"],
    "Raise `ValueError` for `T <= 0`, `alpha` outside": [
        "rejects T = 0", "rejects a negative T", "rejects alpha below 0", "rejects alpha above 1",
        "rejects logits of different shapes", "rejects labels that do not match"],
    "(a) Implement `cosine_logits(features, class_weights)`": [
        "cosine_logits of a small example", "float64 features keep their dtype",
        "cosine_logits of the visible example"],
    "Raise `ValueError` when the inputs are not 2-D or their last dimensions differ": [
        "rejects 1-D features", "rejects feature sizes that differ"],
    "`\"test_confidence\"`: the mean over the test split": [
        "training at T = 1, another seed: loss floor, accuracy, confidence",
        "training at T = 0.1, another seed: loss, accuracy, confidence"],
    "Raise `ValueError` for `T <= 0`.": ["rejects T = 0"],
    "the mean over the examples of the squared distance": [
        "sure forecasts, right twice and wrong once",
        "the uniform forecast scores 1 - 1/C: summed over classes, not averaged",
        "400 forecasts over 10 classes", "the uniform forecast over 5 classes"],
    "`probs`: array-like of shape `(N, C)`, each row a distribution": [
        "rejects a row that does not sum to 1", "rejects a row of zeros",
        "rejects entries outside [0, 1]", "float32 probs, computed in float64", "lists",
        "one class is a valid input: every forecast sure and right"],
    "Compute in float64 (also for float32 `probs`) and return a Python `float`": [
        "float32 probs, computed in float64", "9 forecasts over 4 classes"],
    "Raise `ValueError` with a message that names the problem: `probs` not 2-D or empty": [
        "rejects 1-D probabilities", "rejects empty probabilities",
        "rejects entries outside [0, 1]", "rejects NaN", "rejects a row that does not sum to 1",
        "rejects a row of zeros", "rejects labels of the wrong shape",
        "rejects labels out of range", "rejects negative labels", "rejects float labels",
        "rejects boolean labels", "rejects the label C (one past the last class)",
        "rejects a row whose sum is off by more than 1e-6 (but less than 1e-4)",
        "rejects an entry above 1 in a row that sums to 1 within 1e-6"],
    "So tied confidences always share a bin": [
        "tied confidences share one bin; the others are empty",
        "a constant forecast: all edges equal",
        "edges exactly on the confidences: B_1 = [b_0, b_1], then (lo, hi]"],
    "Return a Python `float` in $[0, 1]$, computed in float64": [
        "two equal-mass bins of three forecasts", "float32 probabilities",
        "the visible six forecasts"],
    "Raise `ValueError` for the same problems as task 2": EM_REJECTS,
    "the margin-based losses build logits": [
        "cosface: a small example", "arcface: a small example",
        "cosface: a 9x10 batch, s = 10, m = 0.35", "arcface: a 9x10 batch, s = 10, m = 0.35",
        "CosFace on the visible cosines", "ArcFace on the visible cosines"],
    "Return a tensor of shape `(N, C)` with the dtype and device of `cosines`": [
        "cosface: float32 cosines give float32 logits",
        "arcface: float32 cosines give float32 logits",
        "cosface: the gradient with respect to the cosines",
        "arcface: the gradient with respect to the cosines"],
    "Do not modify `cosines` in place": [
        "cosface: the cosines are not modified in place",
        "arcface: the cosines are not modified in place"],
    "Raise `ValueError` with a message that names the problem when `cosines`": AM_REJECTS,
}
