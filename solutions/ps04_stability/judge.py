"""Judge spec for ps04_stability (instructor only: the release ignores *.py files).

Each probe calls a student function inside the sandbox; the trusted judge compares the
result with what the solution in ps04_stability.py returns for the same call. The
probes of a test cell check what the cell's visible and hidden tests check (huge,
infinite and NaN logits, per-example maxima, batches along every axis, float16/32/64 and
integer inputs, errors), on other inputs, so an honest notebook and the judge agree (a
disagreement flags the submission tamper_suspected). See autograder/spec.py.
"""

import numpy as np
import scipy.special

from autograder.requirements import BY_NAME, DESCRIBES, NOT_GRADED, WARNINGS_RULE
from autograder.spec import SAYS_WHY, CheckClose, Close, Exact, Probe, Raised, Raises, Rule

WARM = ["numpy", "torch", "infoloss.testing"]  # the notebook imports torch (scipy: judge side only)
LIMITS = {}  # the defaults: 3 GiB leave room for torch, the notebook takes seconds

INF = np.inf


def near(truth, rtol, atol=0.0, dtype=None):
    """Close to ``truth`` computed here in float64, as the hidden tests compare low-precision
    results (not to the solution's own float16 rounding, which is off by up to 1e-3)."""
    close = Close(rtol, atol, dtype)
    return lambda got, ref: close(got, truth)


def _visible(c, expr, hint, rtol=1e-7, expected=None):
    """A probe that repeats one visible check_close of cell ``c``."""
    return Probe(c, expr, compare=CheckClose(rtol, 0.0, expected=expected), hint=hint, visible=True)


def _logsumexp():
    c = "test_logsumexp"
    yield _visible(c, "logsumexp(np.array([0.0, 0.0]))", "two equal logits", expected=np.log(2))
    yield _visible(c, "logsumexp(np.array([1000.0, 1000.0]))", "two logits of 1000", 1e-12,
                   1000 + np.log(2))
    yield _visible(c, "logsumexp(np.array([[1.0, 2.0, 3.0], [-5.0, 0.0, 5.0]]))",
                   "a batch of two examples", 1e-12, [3.40760596444438, 5.006760443547122])
    yield Probe(c, "logsumexp(np.array([0.0, 0.0, 0.0]))", hint="three equal logits")
    yield Probe(c, "logsumexp(np.array([700.0, 700.0]))", compare=Close(rtol=1e-12),
                hint="logits of 700 (the naive formula overflows)")
    rng = np.random.default_rng(404)
    x = rng.normal(scale=25.0, size=(3, 6, 5))
    for ax in (-1, 0, 1):
        yield Probe(c, f"logsumexp(x, axis={ax})", {"x": x}, Close(rtol=1e-13),
                    hint=f"a 3-D batch along axis {ax}")
    rows = np.array([[800.0, 801.0], [2.0, -1.0], [-900.0, -899.5]])
    yield Probe(c, "logsumexp(rows)", {"rows": rows}, Close(rtol=1e-13),
                hint="rows on very different scales (one maximum per row)")
    yield Probe(c, "logsumexp([1e308, 1e308])", compare=Close(rtol=1e-15),
                hint="two logits of 1e308")
    yield Probe(c, "logsumexp([-1e308, 1e308, 0.0])", compare=Close(rtol=1e-15),
                hint="logits of +-1e308")
    yield Probe(c, "logsumexp([-1e308, -1e308])", compare=Close(rtol=1e-15),
                hint="two logits of -1e308")
    yield Probe(c, "logsumexp([-2e4, -2e4, -2e4])", compare=Close(rtol=1e-15),
                hint="very negative logits (the naive formula gives -inf)")
    yield Probe(c, "logsumexp([5e3, 0.0, -5e3])", compare=Close(rtol=1e-15),
                hint="logits of +-5000")
    yield Probe(c, "logsumexp([0.0, -np.inf, np.log(2.0)])", compare=Close(rtol=1e-14),
                hint="a -inf logit")
    yield Probe(c, "logsumexp(np.array([[1.0, 1.0], [-np.inf, -np.inf], [0.0, -np.inf]]))",
                compare=Close(rtol=1e-14), hint="a row of -inf logits")
    yield Probe(c, "logsumexp([2.0, np.inf, -1.0])", hint="a +inf logit")
    yield Probe(c, "logsumexp([0.0, np.nan])", hint="a NaN logit")
    yield Probe(c, "logsumexp(np.zeros((2, 4, 0)))", hint="empty rows")
    for ax in (1, -2):
        yield Probe(c, f"logsumexp(np.zeros((2, 0, 3)), axis={ax})",
                    hint=f"empty rows along axis {ax} of a 3-D batch")
    yield Probe(c, "logsumexp([-np.inf, -np.inf, -np.inf])", hint="only -inf logits")
    yield Probe(c, "logsumexp([np.inf])", hint="a single +inf logit")
    yield Probe(c, "logsumexp([np.inf, np.inf, 0.0])", hint="two +inf logits")
    yield Probe(c, "logsumexp([-np.inf, np.inf])", hint="logits -inf and +inf")
    yield Probe(c, "logsumexp(np.zeros(0))", hint="no logits at all")
    yield Probe(c, "logsumexp([np.inf, np.nan])", hint="a NaN next to a +inf logit")
    yield Probe(c, "logsumexp([np.nan, -np.inf])", hint="a NaN next to a -inf logit")
    cols = np.array([[np.nan, -INF, 2.0, INF], [0.0, -INF, 2.0, 0.0]])
    yield Probe(c, "logsumexp(cols, axis=0)", {"cols": cols}, Close(rtol=1e-14),
                hint="-inf, +inf and NaN columns along axis 0")
    yield Probe(c, "logsumexp(x[1] + 12.25)", {"x": x}, Close(rtol=1e-13),
                hint="logits shifted by a constant")
    for dt, tol in (("float16", 2e-3), ("float32", 2e-6), ("float64", 1e-13)):
        z = rng.normal(scale=3.0, size=(4, 6)).astype(dt)
        truth = scipy.special.logsumexp(z.astype(np.float64), axis=-1)
        yield Probe(c, "logsumexp(z)", {"z": z}, near(truth, tol, dtype=dt),
                    hint=f"{dt} logits keep their dtype")
    yield Probe(c, "logsumexp(np.array([2e4, 2e4], dtype=np.float16))",
                compare=Close(rtol=1e-3, dtype="float16"),
                hint="float16 logits of 20000 (exp overflows above 11.09)")
    yield Probe(c, "logsumexp([[2, 5, -1]])", compare=Close(rtol=1e-14, dtype="float64"),
                hint="integer logits give float64")
    yield Probe(c, "logsumexp(np.array(['x', 'y']))", compare=Raises(ValueError, SAYS_WHY),
                hint="rejects strings")


def _softmax():
    c = "test_softmax"
    yield _visible(c, "softmax(np.array([0.0, 0.0]))", "softmax of two equal logits",
                   expected=[0.5, 0.5])
    yield _visible(c, "softmax(np.array([1.0, 2.0, 3.0]))", "softmax of [1, 2, 3]", 1e-12,
                   [0.09003057317038046, 0.24472847105479764, 0.6652409557748219])
    yield _visible(c, "softmax(np.array([1000.0, 0.0, 0.0, 0.0]))",
                   "softmax of [1000, 0, 0, 0]", expected=[1.0, 0.0, 0.0, 0.0])
    yield _visible(c, "log_softmax(np.array([1000.0, 1.0]))", "log_softmax of [1000, 1]",
                   1e-15, [0.0, -999.0])
    yield _visible(c, "np.exp(log_softmax(np.array([0.5, -1.0, 2.0]))).sum()",
                   "exp(log_softmax(z)) sums to 1", 1e-12, 1.0)
    yield Probe(c, "softmax(np.array([0.0, 0.0, 0.0, 0.0]))", hint="equal logits")
    yield Probe(c, "softmax(np.array([3.0, 1.0, -2.0]))", compare=Close(rtol=1e-12),
                hint="a small example")
    yield Probe(c, "softmax(np.array([0.0, 900.0, 0.0]))", hint="one logit of 900")
    yield Probe(c, "log_softmax(np.array([2.0, 1500.0]))", compare=Close(rtol=1e-15),
                hint="log_softmax of [2, 1500]")
    rng = np.random.default_rng(505)
    x = rng.normal(scale=20.0, size=(7, 8))
    yield Probe(c, "softmax(x)", {"x": x}, Close(rtol=1e-12, atol=1e-300),
                hint="softmax of a batch")
    yield Probe(c, "log_softmax(x)", {"x": x}, Close(rtol=1e-13, atol=1e-12),
                hint="log_softmax of a batch")
    x3 = rng.normal(scale=5.0, size=(4, 3, 5))
    for ax in (0, 1, 2):
        yield Probe(c, f"softmax(x3, axis={ax})", {"x3": x3}, Close(rtol=1e-12),
                    hint=f"softmax of a 3-D batch along axis {ax}")
        yield Probe(c, f"log_softmax(x3, axis={ax})", {"x3": x3}, Close(rtol=1e-12, atol=1e-13),
                    hint=f"log_softmax of a 3-D batch along axis {ax}")
    rows = np.array([[-800.0, -802.0], [3.0, 1.0], [1200.0, 1201.0]])
    yield Probe(c, "softmax(rows)", {"rows": rows}, Close(rtol=1e-13),
                hint="softmax with one maximum per row")
    yield Probe(c, "log_softmax(rows)", {"rows": rows}, Close(rtol=1e-13),
                hint="log_softmax with one maximum per row")
    yield Probe(c, "softmax([-3e4, 3e4])", hint="softmax of [-3e4, 3e4]")
    yield Probe(c, "log_softmax([-3e4, 3e4])", compare=Close(rtol=1e-15),
                hint="log_softmax of [-3e4, 3e4]")
    yield Probe(c, "softmax([-2e4, -2e4, -2e4, -2e4, -2e4])", compare=Close(rtol=1e-15),
                hint="very negative equal logits (naive: 0/0)")
    yield Probe(c, "softmax([1e308, 1e308, 1e308])", compare=Close(rtol=1e-15),
                hint="softmax of logits 1e308")
    yield Probe(c, "softmax([-1e308, 1e308])", hint="softmax of logits +-1e308")
    pinf = np.array([[2.0, INF, -1.0], [INF, 0.5, INF], [1.0, 3.0, 2.0]])
    for f in ("softmax", "log_softmax"):
        yield Probe(c, f"{f}(pinf)", {"pinf": pinf}, Close(rtol=1e-14),
                    hint=f"{f} of rows with a +inf logit")
    yield Probe(c, "log_softmax([1e308, 1e308, 1e308])", compare=Close(rtol=1e-15),
                hint="log_softmax of logits 1e308 (not z - logsumexp(z))")
    yield Probe(c, "log_softmax([0.0, 1e308])", compare=Close(rtol=1e-15),
                hint="log_softmax of [0, 1e308]")
    yield Probe(c, "log_softmax([-1e308, -1e308, -1e308])", compare=Close(rtol=1e-15),
                hint="log_softmax of logits -1e308")
    yield Probe(c, "softmax([1.0, -np.inf, 1.0, 1.0])", compare=Close(rtol=1e-15),
                hint="softmax with a -inf logit")
    yield Probe(c, "log_softmax([1.0, -np.inf, 1.0, 1.0])", compare=Close(rtol=1e-15),
                hint="log_softmax with a -inf logit")
    batch = np.array([[0.0, -INF, 2.0], [-INF, -INF, -INF], [5.0, 5.0, -INF]])
    yield Probe(c, "softmax(batch)", {"batch": batch}, Close(rtol=1e-15),
                hint="softmax with a row of -inf logits (nan row)")
    yield Probe(c, "log_softmax(batch)", {"batch": batch}, Close(rtol=1e-15),
                hint="log_softmax with a row of -inf logits (nan row)")
    yield Probe(c, "softmax(x[2] - 3e7)", {"x": x}, Close(rtol=1e-6, atol=1e-300),
                hint="softmax of logits shifted by a large constant")
    yield Probe(c, "log_softmax(np.array([-900.0, 0.0]))", compare=Close(rtol=1e-15),
                hint="log_softmax where exp underflows")
    z = np.array([[0.0, 0.0, 1200.0, 0.0], [4.0, 3.0, 2.0, 1.0], [0.75, -2.0, 1.5, -0.5]])
    for dt, rtol, atol in (("float16", 2e-3, 1e-4), ("float32", 1e-5, 1e-7),
                           ("float64", 1e-12, 1e-300)):
        zd = z.astype(dt)
        z64 = zd.astype(np.float64)
        yield Probe(c, "softmax(zd)", {"zd": zd},
                    near(scipy.special.softmax(z64, axis=-1), rtol, atol, dt),
                    hint=f"softmax of {dt} logits keeps the dtype")
        yield Probe(c, "log_softmax(zd)", {"zd": zd},
                    near(scipy.special.log_softmax(z64, axis=-1), rtol, atol, dt),
                    hint=f"log_softmax of {dt} logits keeps the dtype")
        big = np.array([0.0, 1e4, -1e4], dtype=dt)
        yield Probe(c, "softmax(big)", {"big": big}, Close(rtol=1e-7, dtype=dt),
                    hint=f"softmax of {dt} logits of +-1e4")
        yield Probe(c, "log_softmax(big)", {"big": big}, Close(rtol=1e-3, dtype=dt),
                    hint=f"log_softmax of {dt} logits of +-1e4")
    yield Probe(c, "softmax([[3, 1, 2]])", compare=Close(rtol=1e-12, dtype="float64"),
                hint="integer logits give float64")
    yield Probe(c, "log_softmax(np.array([1500.0, 2.0], dtype=np.float32))",
                compare=Close(rtol=1e-7, dtype="float32"), hint="float32 log_softmax of [1500, 2]")
    yield Probe(c, "softmax(np.array(['x', 'y']))", compare=Raises(ValueError, SAYS_WHY),
                hint="softmax rejects strings")
    yield Probe(c, "log_softmax(np.array(['x', 'y']))", compare=Raises(ValueError, SAYS_WHY),
                hint="log_softmax rejects strings")


def _fused_losses():
    c = "test_fused_losses"
    yield _visible(c, "cross_entropy_with_logits(np.zeros((4, 10)), np.array([0, 3, 9, 5]))",
                   "CE of uniform logits over 10 classes", 1e-12, np.log(10))
    yield _visible(c, "cross_entropy_with_logits(np.array([[1000.0, 0.0], [0.0, 1000.0]]), "
                      "np.array([1, 1]))", "CE with logits 1000", 1e-12, 500.0)
    yield _visible(c, "bce_with_logits(np.zeros(3), np.array([0.0, 1.0, 0.5]))",
                   "BCE of three logits 0", 1e-12, np.log(2))
    yield _visible(c, "bce_with_logits(np.array([100.0]), np.array([0.0]))", "BCE(100, 0)",
                   1e-12, 100.0)
    yield Probe(c, "cross_entropy_with_logits(np.zeros((2, 3)), np.array([0, 3]))",
                compare=Raises(ValueError, "label"), hint="CE rejects the label 3 of 3 classes",
                visible=True)
    yield Probe(c, "cross_entropy_with_logits(np.zeros((3, 6)), np.array([5, 0, 2]))",
                compare=Close(rtol=1e-12), hint="CE of uniform logits")
    yield Probe(c, "cross_entropy_with_logits(np.array([[3.0], [-2.0]]), np.array([0, 0]))",
                compare=Close(atol=1e-15), hint="CE with one class (the loss is 0)")
    yield Probe(c, "cross_entropy_with_logits(np.array([[0.0, 800.0], [800.0, 0.0]]), "
                   "np.array([0, 0]))", compare=Close(rtol=1e-12),
                hint="CE with logits of 800")
    yield Probe(c, "bce_with_logits(np.zeros((2, 2)), np.array([[0.0, 1.0], [0.25, 0.75]]))",
                compare=Close(rtol=1e-12), hint="BCE of logit 0")
    yield Probe(c, "bce_with_logits(np.array([-150.0]), np.array([1.0]))",
                compare=Close(rtol=1e-12), hint="BCE(-150, 1) (the naive formula gives inf)")
    rng = np.random.default_rng(606)
    for scale in (1.0, 30.0, 1e4):
        z = rng.normal(scale=scale, size=(24, 9))
        y = rng.integers(0, 9, size=24)
        yield Probe(c, "cross_entropy_with_logits(z, y)", {"z": z, "y": y}, Close(rtol=1e-12),
                    hint=f"CE of a batch at logit scale {scale:g}")
        zb = rng.normal(scale=scale, size=(6, 7))
        t = rng.uniform(size=(6, 7))
        yield Probe(c, "bce_with_logits(zb, t)", {"zb": zb, "t": t}, Close(rtol=1e-10),
                    hint=f"BCE with soft targets at logit scale {scale:g}")
    yield Probe(c, "cross_entropy_with_logits(np.array([[-1e308, 1e308]]), np.array([1]))",
                compare=Close(atol=1e-300), hint="CE of logits +-1e308, right class")
    yield Probe(c, "cross_entropy_with_logits(np.array([[0.0, 1e308]]), np.array([0]))",
                compare=Close(rtol=1e-15), hint="CE of logits [0, 1e308], wrong class")
    yield Probe(c, "cross_entropy_with_logits(np.array([[0.0, 2e4, -2e4]]), np.array([2]))",
                compare=Close(rtol=1e-15), hint="CE of logits +-2e4")
    yield Probe(c, "cross_entropy_with_logits(np.array([[1.0, 1.0, -np.inf]]), np.array([1]))",
                compare=Close(rtol=1e-14), hint="CE with a -inf logit on a wrong class")
    yield Probe(c, "cross_entropy_with_logits(np.array([[-np.inf, 3.0]]), np.array([0]))",
                hint="CE with a -inf logit on the true class")
    rows = np.array([[-700.0, -701.0], [1.0, 0.0], [1500.0, 1502.0]])
    yield Probe(c, "cross_entropy_with_logits(rows, np.array([0, 1, 0]))", {"rows": rows},
                Close(rtol=1e-13), hint="CE with one maximum per row")
    yield Probe(c, "bce_with_logits(np.array([-3e9, 3e9]), np.array([0.0, 1.0]))",
                compare=Close(atol=1e-300), hint="BCE at +-3e9, right side")
    yield Probe(c, "bce_with_logits(np.array([-3e9, 3e9]), np.array([1.0, 0.0]))",
                compare=Close(rtol=1e-15), hint="BCE at +-3e9, wrong side")
    yield Probe(c, "bce_with_logits(np.array([-1e308]), np.array([1.0]))",
                compare=Close(rtol=1e-15), hint="BCE(-1e308, 1)")
    yield Probe(c, "bce_with_logits(np.array([1e308]), np.array([1.0]))",
                compare=Close(atol=1e-300), hint="BCE(1e308, 1)")
    yield Probe(c, "bce_with_logits(np.array([45.0]), np.array([1.0]))",
                compare=Close(rtol=1e-12), hint="BCE(45, 1): tiny, not 0 (log1p)")
    yield Probe(c, "bce_with_logits(np.array([[-1.5, 4.0, 0.25], [6.0, -2.0, 0.0]]), "
                   "np.array([[0.0, 1.0, 0.5], [0.9, 0.1, 1.0]]))", compare=Close(rtol=1e-13),
                hint="BCE of a 2x3 batch (mean over all elements)")
    for dt, tol in (("float32", 1e-5), ("float64", 1e-12)):
        z = rng.normal(scale=4.0, size=(5, 4)).astype(dt)
        y = rng.integers(0, 4, size=5)
        t = rng.uniform(size=(5, 4)).astype(dt)
        yield Probe(c, "cross_entropy_with_logits(z, y)", {"z": z, "y": y}, Close(tol, 0, dt),
                    hint=f"CE of {dt} logits keeps the dtype")
        yield Probe(c, "bce_with_logits(z, t)", {"z": z, "t": t}, Close(tol, 0, dt),
                    hint=f"BCE of {dt} logits keeps the dtype")
    yield Probe(c, "cross_entropy_with_logits(np.zeros((3, 4)), np.array([0, 4, 1]))",
                compare=Raises(ValueError, "label"), hint="CE rejects a label out of range")
    yield Probe(c, "cross_entropy_with_logits(np.zeros(4), np.array([1]))",
                compare=Raises(ValueError, SAYS_WHY), hint="CE rejects 1-D logits")
    yield Probe(c, "cross_entropy_with_logits(np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]))",
                compare=Raises(ValueError, SAYS_WHY), hint="CE rejects float labels")
    yield Probe(c, "cross_entropy_with_logits(np.zeros((3, 4)), np.array([2, -1, 0]))",
                compare=Raises(ValueError, SAYS_WHY), hint="CE rejects a negative label")
    yield Probe(c, "cross_entropy_with_logits(np.zeros((3, 4)), np.array([0, 1]))",
                compare=Raises(ValueError, SAYS_WHY), hint="CE rejects too few labels")
    yield Probe(c, "cross_entropy_with_logits(np.zeros((0, 4)), np.zeros(0, dtype=int))",
                compare=Raises(ValueError, SAYS_WHY), hint="CE rejects an empty batch")
    yield Probe(c, "bce_with_logits(np.zeros((3, 2)), np.zeros((2, 3)))",
                compare=Raises(ValueError, SAYS_WHY), hint="BCE rejects shapes that differ")
    yield Probe(c, "bce_with_logits(np.zeros((3, 2)), np.array([0.0, 1.0]))",
                compare=Raises(ValueError, SAYS_WHY),
                hint="BCE rejects targets of another shape that broadcasts")
    yield Probe(c, "bce_with_logits(2.0, 1.0)", compare=Close(rtol=1e-12),
                hint="BCE of a single logit and target (0-d)")
    yield Probe(c, "bce_with_logits(np.zeros(3), np.array([0.0, -0.5, 1.0]))",
                compare=Raises(ValueError, SAYS_WHY), hint="BCE rejects a target below 0")
    yield Probe(c, "bce_with_logits(np.zeros((2, 2)), np.array([[0.0, 1.25], [1.0, 0.5]]))",
                compare=Raises(ValueError, SAYS_WHY), hint="BCE rejects a target above 1")
    yield Probe(c, "cross_entropy_with_logits(np.array([[3, -1, 0], [0, 2, 2]]), np.array([0, 2]))",
                compare=Close(rtol=1e-12, dtype="float64"), hint="CE of integer logits is float64")
    yield Probe(c, "bce_with_logits(np.array([[3, -1], [0, 2]]), np.array([[1.0, 0.0], [0.5, 0.0]]))",
                compare=Close(rtol=1e-12, dtype="float64"), hint="BCE of integer logits is float64")
    yield Probe(c, "bce_with_logits(np.zeros((0, 2)), np.zeros((0, 2)))",
                compare=Raises(ValueError, SAYS_WHY), hint="BCE rejects an empty input")



# Tasks 5 and 6 (PyTorch, 16-bit logits). Inputs enter the sandbox as float32 arrays and are
# rounded to the 16-bit dtype there; results come back with their dtype as a string, since
# NumPy has no bfloat16.
TYPED = "(lambda out: [str(out.dtype), out.detach().double()])({call})"
CE = "cross_entropy_low_precision(torch.from_numpy(z).to(torch.{dt}), torch.from_numpy(y))"
CE_GRAD = ("(lambda z16: (lambda g: [str(g.dtype), g.double()])(torch.autograd.grad("
           "cross_entropy_low_precision(z16, torch.from_numpy(y)), z16)[0]))"
           "(torch.from_numpy(z).to(torch.{dt}).requires_grad_())")
SCALED = ("(lambda g: 'skipped' if g is None else [str(g.dtype), g.double(), int((g == 0).sum())])"
          "(loss_scaled_grad(torch.from_numpy(z).to(torch.{dt}), torch.from_numpy(y), {scale}))")


class Typed:
    """``[dtype string, values(, number of zeros)]``: the same dtype, close values, and the
    number of exact zeros within ``zeros`` of the reference's (float16 underflow)."""

    def __init__(self, rtol, atol=0.0, zeros=None):
        self.close, self.zeros = Close(rtol, atol), zeros

    def __call__(self, got, ref):
        if isinstance(ref, Raised):
            return Raises(ValueError)(got, ref)
        if isinstance(got, Raised):
            return False, f"raised {got.mro[0]} where a result was expected"
        if isinstance(ref, str):
            return (True, "ok") if got == ref else (
                False, "the scaled gradient overflows: expected None (skip the step)")
        if not isinstance(got, list) or len(got) != len(ref) or not isinstance(got[0], str):
            return False, "expected a tensor" if not isinstance(got, str) else \
                "returned None although the scaled gradient is finite"
        if got[0] != ref[0]:
            return False, f"wrong dtype {got[0]} (expected {ref[0]})"
        ok, msg = self.close(got[1], ref[1])
        if not ok:
            return ok, msg
        if self.zeros is not None and abs(int(got[2]) - int(ref[2])) > self.zeros:
            return False, f"{int(got[2])} entries are 0, expected about {int(ref[2])}"
        return True, "ok"


def _ce_low_precision():
    c = "test_ce_low_precision"
    yield Probe(c, TYPED.format(call="cross_entropy_low_precision(torch.tensor([[1000.0, 0.0], "
                                     "[0.0, 1e4]]).to(torch.bfloat16), torch.tensor([1, 0]))"),
                compare=Typed(1e-6), visible=True,
                hint="bfloat16 logits [[1000, 0], [0, 1e4]]: a 0-d float32 tensor")
    yield _visible(c, "cross_entropy_low_precision(torch.tensor([[6e4, 0.0, -6e4]], "
                      "dtype=torch.float16), torch.tensor([2]))",
                   "float16 logits [6e4, 0, -6e4], label 2", 1e-6, 1.2e5)
    yield _visible(c, "(lambda g: cross_entropy_low_precision(torch.randn(8, 5, generator=g), "
                      "torch.randint(0, 5, (8,), generator=g)))(torch.Generator().manual_seed(5))",
                   "float32 logits: F.cross_entropy", 1e-6)
    yield Probe(c, "cross_entropy_low_precision(*(lambda g: (torch.randn(8, 5, generator=g)"
                   ".double(), torch.randint(0, 5, (8,), generator=g)))"
                   "(torch.Generator().manual_seed(5)))", compare=Raises(ValueError, "float64"),
                hint="rejects float64 logits, naming float64", visible=True)
    rng = np.random.default_rng(505)
    for dt, scales in (("bfloat16", (1.0, 25.0, 1e4)), ("float16", (1.0, 25.0, 2e4)),
                       ("float32", (1.0, 25.0, 1e4))):
        for scale in scales:
            z = np.clip(scale * rng.normal(size=(12, 6)), -6e4, 6e4).astype(np.float32)
            y = rng.integers(0, 6, size=12)
            yield Probe(c, TYPED.format(call=CE.format(dt=dt)), {"z": z, "y": y},
                        Typed(1e-5, 1e-6), hint=f"{dt} logits at scale {scale:g}: a float32 mean")
    z = np.array([[65504.0, -65504.0, 0.0], [-65504.0, 65504.0, 0.0]], dtype=np.float32)
    yield Probe(c, TYPED.format(call=CE.format(dt="float16")), {"z": z, "y": np.array([1, 2])},
                Typed(1e-6), hint="float16 logits of +-65504 (the float16 loss overflows)")
    z = np.array([[2e3, -1e4, 0.0], [5e3, 5e3, -5e3]], dtype=np.float32)
    yield Probe(c, TYPED.format(call=CE.format(dt="bfloat16")), {"z": z, "y": np.array([1, 2])},
                Typed(1e-6), hint="bfloat16 logits of +-1e4")
    z = (0.5 * rng.normal(size=(48, 10))).astype(np.float32)
    yield Probe(c, TYPED.format(call=CE.format(dt="bfloat16")),
                {"z": z, "y": rng.integers(0, 10, size=48)}, Typed(1e-6),
                hint="small bfloat16 logits: more digits than bfloat16 has")
    z = np.array([[1.0, -np.inf, 1.0]], dtype=np.float32)
    yield Probe(c, TYPED.format(call=CE.format(dt="bfloat16")), {"z": z, "y": np.array([2])},
                Typed(1e-6), hint="a -inf logit on a wrong class")
    yield Probe(c, TYPED.format(call=CE.format(dt="float16")), {"z": z, "y": np.array([1])},
                Typed(1e-6), hint="a -inf logit on the true class")
    z = np.array([[0.5, 2.0], [3.0, -1.0], [0.0, 0.25]], dtype=np.float32)
    yield Probe(c, TYPED.format(call="cross_entropy_low_precision(torch.from_numpy(z).half(), "
                                     "torch.from_numpy(y).int())"),
                {"z": z, "y": np.array([1, 0, 1])}, Typed(1e-6), hint="int32 targets")
    yield Probe(c, TYPED.format(call="cross_entropy_low_precision(torch.zeros(1, 1, "
                                     "dtype=torch.bfloat16), torch.tensor([0]))"),
                compare=Typed(0, 1e-7), hint="one example, one class")
    for dt in ("bfloat16", "float16"):
        z = (3 * rng.normal(size=(5, 4))).astype(np.float32)
        yield Probe(c, CE_GRAD.format(dt=dt), {"z": z, "y": rng.integers(0, 4, size=5)},
                    Typed(1e-2, 1e-4), hint=f"the gradient reaches {dt} logits, in {dt}")
    ok = "torch.zeros(3, 4, dtype=torch.bfloat16)"
    y3 = "torch.tensor([0, 1, 2])"
    for expr, hint in (
            (f"cross_entropy_low_precision({ok}.double(), {y3})", "rejects float64 logits"),
            (f"cross_entropy_low_precision(torch.zeros(3, 4, dtype=torch.int64), {y3})",
             "rejects integer logits"),
            (f"cross_entropy_low_precision(np.zeros((3, 4)), {y3})", "rejects NumPy logits"),
            (f"cross_entropy_low_precision({ok}, np.array([0, 1, 2]))", "rejects NumPy targets"),
            ("cross_entropy_low_precision(torch.zeros(4, dtype=torch.float16), torch.tensor([0]))",
             "rejects 1-D logits"),
            ("cross_entropy_low_precision(torch.zeros(2, 3, 4, dtype=torch.float16), "
             "torch.zeros(2, dtype=torch.long))", "rejects 3-D logits"),
            ("cross_entropy_low_precision(torch.zeros(0, 4, dtype=torch.float16), "
             "torch.zeros(0, dtype=torch.long))", "rejects an empty batch"),
            ("cross_entropy_low_precision(torch.zeros(2, 0, dtype=torch.float16), "
             "torch.zeros(2, dtype=torch.long))", "rejects logits with no classes"),
            (f"cross_entropy_low_precision({ok}, torch.tensor([0.0, 1.0, 2.0]))",
             "rejects float targets"),
            (f"cross_entropy_low_precision({ok}, torch.tensor([0, 1]))", "rejects too few targets"),
            (f"cross_entropy_low_precision({ok}, torch.tensor([[0, 1, 2]]))",
             "rejects 2-D targets"),
            (f"cross_entropy_low_precision({ok}, torch.tensor([[0], [1], [2]]))",
             "rejects targets of shape (N, 1)"),
            (f"cross_entropy_low_precision({ok}, torch.tensor([0, -1, 1]))",
             "rejects a negative target")):
        yield Probe(c, expr, compare=Raises(ValueError, SAYS_WHY), hint=hint)
    yield Probe(c, f"cross_entropy_low_precision({ok}, torch.tensor([0, 4, 1]))",
                compare=Raises(ValueError, r"0 \.\. 3"), hint="rejects a target out of range")


def _loss_scaled_grad():
    c = "test_loss_scaled_grad"
    z2 = "torch.tensor([[0.0, -20.0]], dtype=torch.float16), torch.tensor([0])"
    yield Probe(c, f"(lambda g: [str(g.dtype), list(g.shape)])(loss_scaled_grad({z2}, 1.0))",
                compare=Exact(), visible=True, hint="logits [[0, -20]]: float32, shape (1, 2)")
    yield _visible(c, f"loss_scaled_grad({z2}, 1.0)[0, 1]",
                   "logits [[0, -20]], no scaling: the small entry underflows to 0", 1e-7, 0.0)
    yield _visible(c, f"loss_scaled_grad({z2}, 2.0 ** 16)[0, 1]",
                   "logits [[0, -20]], scale 2^16: the small entry survives", 1e-3,
                   np.exp(-20.0) / (1 + np.exp(-20.0)))
    yield Probe(c, f"loss_scaled_grad({z2}, 2.0 ** 50) is None", compare=Exact(), visible=True,
                hint="logits [[0, -20]], scale 2^50: None")
    yield Probe(c, f"loss_scaled_grad({z2}, 0.0)", compare=Raises(ValueError, SAYS_WHY),
                visible=True, hint="rejects scale 0.0")
    rng = np.random.default_rng(606)
    z = (6 * rng.normal(size=(200, 10))).astype(np.float16).astype(np.float32)
    y = rng.integers(0, 10, size=200)
    case = {"z": z, "y": y}
    for k in (0, 6, 12, 18, 22):
        S = 2.0 ** k
        yield Probe(c, SCALED.format(dt="float16", scale=repr(S)), case,
                    Typed(2e-3, 2.0 ** -24 / S, zeros=2),
                    hint=f"float16 logits, loss scale 2^{k}: float32, small entries lost to 0")
    yield Probe(c, SCALED.format(dt="float16", scale="2.0 ** 27"), case, Typed(0),
                hint="the scaled gradient overflows float16: None")
    yield Probe(c, SCALED.format(dt="float16", scale="500"), case,
                Typed(2e-3, 2.0 ** -24 / 500, zeros=2), hint="an int scale that is not 2^k")
    zb = (6 * rng.normal(size=(24, 5))).astype(np.float32)
    yield Probe(c, SCALED.format(dt="bfloat16", scale="1.0"),
                {"z": zb, "y": rng.integers(0, 5, size=24)}, Typed(1e-2, 1e-30, zeros=0),
                hint="bfloat16 logits lose nothing without scaling")
    yield Probe(c, "(lambda z16: (loss_scaled_grad(z16, torch.from_numpy(y[:6]), 128.0), "
                   "'ok' if z16.grad is None and torch.equal(z16.detach(), "
                   "torch.from_numpy(z[:6]).half()) else 'touched')[1])"
                   "(torch.from_numpy(z[:6]).half().requires_grad_())", case, Exact(),
                hint="leaves logits and logits.grad alone")
    z16 = "torch.from_numpy(z).half()"
    for expr, hint in (
            (f"loss_scaled_grad({z16}, torch.from_numpy(y), 0)", "rejects scale 0"),
            (f"loss_scaled_grad({z16}, torch.from_numpy(y), -2.0)", "rejects a negative scale"),
            (f"loss_scaled_grad({z16}, torch.from_numpy(y), float('inf'))",
             "rejects an infinite scale"),
            (f"loss_scaled_grad({z16}, torch.from_numpy(y), float('nan'))", "rejects a NaN scale"),
            (f"loss_scaled_grad({z16}, torch.from_numpy(y), True)", "rejects a boolean scale"),
            ("loss_scaled_grad(torch.from_numpy(z), torch.from_numpy(y), 1.0)",
             "rejects float32 logits"),
            ("loss_scaled_grad(torch.from_numpy(z).double(), torch.from_numpy(y), 1.0)",
             "rejects float64 logits"),
            (f"loss_scaled_grad({z16}, torch.from_numpy(y[:7]), 1.0)", "rejects too few targets"),
            (f"loss_scaled_grad({z16}, torch.from_numpy(y).float(), 1.0)",
             "rejects float targets"),
            (f"loss_scaled_grad({z16}[0], torch.from_numpy(y[:1]), 1.0)", "rejects 1-D logits")):
        yield Probe(c, expr, case, Raises(ValueError, SAYS_WHY), hint=hint)


def probes():
    """Every probe, in notebook order."""
    yield from _logsumexp()
    yield from _softmax()
    yield from _fused_losses()
    yield from _ce_low_precision()
    yield from _loss_scaled_grad()


# "Do not call SciPy or PyTorch in tasks 1-4" (task 4 is graded by hand and calls the
# function of task 3): each autograded task loses its points when its functions do.
NO_LIBRARIES = "Do not call SciPy or PyTorch in tasks 1-4"
RULES = [
    Rule("test_logsumexp", ("logsumexp",), ("scipy", "torch"), NO_LIBRARIES),
    Rule("test_softmax", ("softmax", "log_softmax"), ("scipy", "torch"), NO_LIBRARIES),
    Rule("test_fused_losses", ("cross_entropy_with_logits", "bce_with_logits"),
         ("scipy", "torch"), NO_LIBRARIES),
]


def _scales(dt, scales, what="a float32 mean"):
    return [f"{dt} logits at scale {s:g}: {what}" for s in scales]


LOST = "float16 logits, loss scale 2^{}: float32, small entries lost to 0"
CE_REJECTS = [
    "rejects float64 logits", "rejects integer logits", "rejects NumPy logits",
    "rejects NumPy targets", "rejects 1-D logits", "rejects 3-D logits", "rejects an empty batch",
    "rejects logits with no classes", "rejects float targets", "rejects too few targets",
    "rejects 2-D targets", "rejects a negative target", "rejects a target out of range",
    "rejects float64 logits, naming float64", "rejects targets of shape (N, 1)"]

# Each rule the notebook's text states, and the probes (by hint) that check it
# (autograder/requirements.py; `python -m autograder requirements ps04_stability`).
REQUIREMENTS = {
    "sit at the end of every classifier": [
        "two logits of 1e308", "very negative logits (the naive formula gives -inf)",
        "log_softmax of logits 1e308 (not z - logsumexp(z))", "log_softmax where exp underflows",
        "a 3-D batch along axis 0", "softmax of a batch", "CE of a batch at logit scale 30",
        "bfloat16 logits of +-1e4", "float16 logits, loss scale 2^12: float32, small entries "
        "lost to 0"],
    "Replace every `raise NotImplementedError()`": BY_NAME,
    "Do not rename the functions": BY_NAME,
    "more tests, hidden here": DESCRIBES,
    "A graded call that warns": WARNINGS_RULE,
    "Do not call SciPy or PyTorch in tasks 1-4": [f"rule: {NO_LIBRARIES}"],
    "Floating inputs **keep their dtype**": [
        f"{dt} logits keep their dtype" for dt in ("float16", "float32", "float64")] + [
        f"{f} of {dt} logits keeps the dtype" for f in ("softmax", "log_softmax")
        for dt in ("float16", "float32", "float64")] + [
        "integer logits give float64", "float16 logits of 20000 (exp overflows above 11.09)"],
    "No warnings: use `np.errstate`": WARNINGS_RULE,
    "a row with a `+inf` logit must give its other classes": [
        "softmax of rows with a +inf logit", "log_softmax of rows with a +inf logit"],
    "It must be exact for huge logits": [
        "two logits of 1e308", "logits of +-1e308", "two logits of -1e308"],
    "`log_softmax` must **not** be `np.log(softmax(z))`": [
        "log_softmax of [2, 1500]", "log_softmax where exp underflows",
        "log_softmax of [-3e4, 3e4]", "log_softmax of [1000, 1]"],
    "(a) `cross_entropy_with_logits(z, y)`: the mean over the batch": [
        "CE of uniform logits", "CE of a batch at logit scale 1", "CE with one maximum per row",
        "CE with one class (the loss is 0)"],
    "Work with `log_softmax`, never `log(softmax)`": [
        "CE with logits of 800", "CE of logits [0, 1e308], wrong class", "CE of logits +-2e4"],
    "stays finite and accurate for logits of any size": [
        "BCE at +-3e9, wrong side", "BCE(45, 1): tiny, not 0 (log1p)", "CE with logits of 800",
        "CE of logits +-2e4"],
    "(b) `bce_with_logits(z, y)`: the mean over **all elements**": [
        "BCE of a 2x3 batch (mean over all elements)", "BCE with soft targets at logit scale 1",
        "BCE at +-3e9, wrong side", "BCE(45, 1): tiny, not 0 (log1p)",
        "BCE of a single logit and target (0-d)"],
    "Both return a 0-d NumPy value in the dtype of `z`": [
        "CE of float32 logits keeps the dtype", "BCE of float32 logits keeps the dtype",
        "CE of integer logits is float64", "BCE of integer logits is float64"],
    "Raise `ValueError` with a helpful message for: `z` not 2-D": [
        "CE rejects 1-D logits", "CE rejects an empty batch", "CE rejects float labels",
        "CE rejects a label out of range", "CE rejects a negative label",
        "CE rejects too few labels", "BCE rejects shapes that differ",
        "BCE rejects targets of another shape that broadcasts",
        "BCE rejects a target below 0", "BCE rejects a target above 1",
        "BCE rejects an empty input"],
    "It evaluates the naive": DESCRIBES,
    "In the answer cell (graded by hand)": NOT_GRADED,
    "the loss must not be computed in 16 bits": [
        "small bfloat16 logits: more digits than bfloat16 has", "bfloat16 logits of +-1e4",
        "float16 logits of +-65504 (the float16 loss overflows)"],
    "`logits`: a `torch.Tensor` of shape `(N, C)`": [
        *_scales("bfloat16", (1, 25, 1e4)), *_scales("float16", (1, 25, 2e4)),
        *_scales("float32", (1, 25, 1e4)), "int32 targets", "one example, one class"],
    "Return the **mean** over the batch": [
        *_scales("bfloat16", (1, 25, 1e4)), *_scales("float16", (1, 25, 2e4)),
        "bfloat16 logits [[1000, 0], [0, 1e4]]: a 0-d float32 tensor"],
    "For float32 logits it equals `F.cross_entropy": [
        "float32 logits: F.cross_entropy", *_scales("float32", (1, 25, 1e4))],
    "It must be right where the 16-bit computation is not": [
        *_scales("bfloat16", (1e4,)), *_scales("float16", (2e4,)), "bfloat16 logits of +-1e4",
        "float16 logits of +-65504 (the float16 loss overflows)",
        "a -inf logit on a wrong class", "a -inf logit on the true class"],
    "Autograd must reach the logits": [
        "the gradient reaches bfloat16 logits, in bfloat16",
        "the gradient reaches float16 logits, in float16"],
    "Raise `ValueError`, with a message that names the problem, for: logits or targets": CE_REJECTS,
    "In float16 training the gradient flows back": [
        LOST.format(0), "logits [[0, -20]], no scaling: the small entry underflows to 0"],
    "`logits`: a tensor of shape `(N, C)` of dtype `torch.float16` or `torch.bfloat16`": [
        LOST.format(6), "an int scale that is not 2^k",
        "bfloat16 logits lose nothing without scaling"],
    "Compute the loss in float32 from the upcast logits": [
        LOST.format(k) for k in (0, 6, 12, 18, 22)] + [
        "logits [[0, -20]], scale 2^16: the small entry survives",
        "the scaled gradient overflows float16: None"],
    "return `None` (a `GradScaler` skips the step then)": [
        "the scaled gradient overflows float16: None", "logits [[0, -20]], scale 2^50: None"],
    "Do not touch `logits.grad`": ["leaves logits and logits.grad alone"],
    "Otherwise convert it to float32 **first**": [
        "logits [[0, -20]]: float32, shape (1, 2)", LOST.format(18), LOST.format(22)],
    "Raise `ValueError` (with a message) for `scale` not a positive finite number": [
        "rejects scale 0", "rejects a negative scale", "rejects an infinite scale",
        "rejects a NaN scale", "rejects a boolean scale", "rejects float32 logits",
        "rejects float64 logits", "rejects too few targets", "rejects float targets",
        "rejects 1-D logits", "rejects scale 0.0"],
}
