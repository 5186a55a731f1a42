"""Judge spec for ps01_information (instructor only: the release ignores *.py files).

Each probe calls a student function inside the sandbox; the trusted judge compares the
result with what the solution in ps01_information.py returns for the same call. The
probes of a test cell check what the cell's visible and hidden tests check, so an honest
notebook and the judge agree (a disagreement flags the submission tamper_suspected).
See autograder/spec.py for the format.
"""

import numpy as np
import scipy.stats  # noqa: F401 (the reference answers use the solution, not scipy)

from autograder.requirements import BY_NAME, DESCRIBES, WARNINGS_RULE
from autograder.spec import CheckClose, Close, Probe, Raised, Raises
from infoloss.data import SAMPLE_TEXT, load_digits_split

WARM = ["numpy", "infoloss.data", "infoloss.testing"]  # what the notebook imports, no more
LIMITS = {"memory": 2 * 2**30}

F64 = Close(rtol=1e-9, dtype="float64")
BASE_HALF = "base 1/2 (any positive base other than 1 is allowed)"
VISIBLE = CheckClose()  # check_close's rule, for the probes that repeat a visible test


def _self_information():
    c = "test_self_information"
    yield Probe(c, "self_information(0.5)", hint="a fair coin carries one bit", compare=VISIBLE, visible=True)
    yield Probe(c, "self_information(1 / 6)", hint="a fair die", compare=VISIBLE, visible=True)
    yield Probe(c, "self_information(np.array([1.0, 0.25]))", hint="an array of probabilities", compare=VISIBLE, visible=True)
    yield Probe(c, "self_information(0.5, base=np.e)", hint="nats (base e)", compare=VISIBLE, visible=True)
    yield Probe(c, "self_information(0.0)", hint="an impossible event")
    yield Probe(c, "self_information(1e-300)", compare=Close(rtol=1e-12), hint="a tiny p")
    yield Probe(c, "self_information(5e-324)", compare=Close(rtol=1e-12),
                hint="the smallest subnormal p")
    yield Probe(c, "self_information(0.001, base=10)", compare=Close(rtol=1e-12),
                hint="base 10")
    grid = np.array([[0.5, 0.125], [1.0, 1e-9]], dtype=np.float32)
    yield Probe(c, "self_information(grid)", {"grid": grid}, Close(rtol=1e-12, dtype="float64"),
                hint="float32 input, float64 result")
    yield Probe(c, "self_information(0.5, base=4)", compare=Close(rtol=1e-12), hint="base 4")
    yield Probe(c, "self_information(-0.1)", compare=Raises(ValueError, "probab"),
                hint="rejects a negative probability", visible=True)
    yield Probe(c, "self_information(1.5)", compare=Raises(ValueError, "probab"),
                hint="rejects a probability above 1")
    yield Probe(c, "self_information(np.array([0.5, np.nan]))", compare=Raises(ValueError, "nan"),
                hint="rejects NaN")
    yield Probe(c, "self_information(0.5, base=1)", compare=Raises(ValueError, "base"),
                hint="rejects base 1")
    yield Probe(c, "self_information(0.5, base=-2)", compare=Raises(ValueError, "base"),
                hint="rejects a negative base")
    yield Probe(c, "self_information(0.5, base=0)", compare=Raises(ValueError, "base"),
                hint="rejects base 0")
    yield Probe(c, "self_information(0.25, base=0.5)", compare=Close(rtol=1e-12),
                hint=BASE_HALF)


def _entropy():
    c = "test_entropy"
    yield Probe(c, "entropy([0.5, 0.5])", hint="a fair coin", compare=VISIBLE, visible=True)
    yield Probe(c, "entropy([1.0, 0.0])", hint="0 log 0 = 0", compare=VISIBLE, visible=True)
    yield Probe(c, "entropy(np.full(8, 1 / 8))", hint="a fair 8-sided die", compare=VISIBLE, visible=True)
    yield Probe(c, "entropy([[0.5, 0.5], [0.25, 0.75]])", hint="a batch of two coins", compare=VISIBLE, visible=True)
    yield Probe(c, "entropy([0.5, 0.6])", compare=Raises(ValueError, "sum"),
                hint="rejects a distribution that does not sum to 1", visible=True)
    rng = np.random.default_rng(12345)
    batch = rng.dirichlet(np.ones(7) * 0.3, size=(4, 5))
    batch[0, 0, :3] = 0.0
    batch[0, 0] /= batch[0, 0].sum()
    yield Probe(c, "entropy(batch)", {"batch": batch}, Close(rtol=1e-10),
                hint="a batch of shape (4, 5, 7) with zeros")
    yield Probe(c, "entropy(batch, base=np.e)", {"batch": batch}, Close(rtol=1e-10),
                hint="a batch in nats")
    yield Probe(c, "entropy([1e-300, 1 - 1e-300])", hint="a tiny probability")
    p32 = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    yield Probe(c, "entropy(p32)", {"p32": p32}, Close(rtol=1e-12, dtype="float64"),
                hint="float32 input, float64 result, no renormalising")
    yield Probe(c, "entropy([0.0, 0.0, 1.0, 0.0])", hint="a one-hot distribution")
    yield Probe(c, "entropy(np.full(10, 0.1), base=10)", compare=Close(rtol=1e-12),
                hint="uniform over 10 in base 10")
    yield Probe(c, "entropy(np.full((3, 1), 1.0))", hint="single-outcome distributions")
    yield Probe(c, "entropy([0.5, -0.1, 0.6])", compare=Raises(ValueError, "negative"),
                hint="rejects a negative entry")
    yield Probe(c, "entropy([[0.5, 0.5], [0.3, 0.3]])", compare=Raises(ValueError, "sum"),
                hint="rejects a batch row that does not sum to 1")
    yield Probe(c, "entropy([0.5, np.nan])", compare=Raises(ValueError, "nan"),
                hint="rejects NaN")
    yield Probe(c, "entropy(np.zeros((2, 0)))", compare=Raises(ValueError),
                hint="rejects an empty last axis")
    yield Probe(c, "entropy([0.5, 0.5], base=0)", compare=Raises(ValueError, "base"),
                hint="rejects base 0")
    yield Probe(c, "entropy([0.5, 0.5], base=0.5)", compare=Close(rtol=1e-12), hint=BASE_HALF)
    yield Probe(c, "entropy(0.5)", compare=Raises(ValueError),
                hint="rejects a single number (it has no last axis)")
    yield Probe(c, "entropy([0.5, 0.5 + 2e-6])", compare=Raises(ValueError, "sum"),
                hint="rejects a distribution that misses 1 by more than 1e-6")
    yield Probe(c, "entropy([0.5, 0.5 + 5e-7])", compare=Close(rtol=1e-9),
                hint="accepts a distribution that sums to 1 within 1e-6")


def _bernoulli():
    c = "test_bernoulli_entropy"
    yield Probe(c, "bernoulli_entropy(0.5)", hint="a fair coin, in nats", compare=VISIBLE, visible=True)
    yield Probe(c, "bernoulli_entropy(np.array([0.0, 1.0]))", hint="certain outcomes", compare=VISIBLE, visible=True)
    yield Probe(c, "bernoulli_entropy(0.1)", hint="p = 0.1")
    yield Probe(c, "bernoulli_entropy(0.9)", hint="p = 0.9")
    yield Probe(c, "bernoulli_entropy(np.linspace(0.01, 0.99, 99))", compare=Close(rtol=1e-12),
                hint="a grid of probabilities")
    yield Probe(c, "bernoulli_entropy(1e-300)", hint="a tiny p (needs log1p)")
    yield Probe(c, "bernoulli_entropy(1 - 1e-12)", compare=Close(rtol=1e-3), hint="p near 1")
    yield Probe(c, "bernoulli_entropy(np.array([[0.25], [0.75]], dtype=np.float32))",
                compare=Close(rtol=1e-9, dtype="float64"), hint="float32 input keeps its shape")
    yield Probe(c, "bernoulli_entropy(1.01)", compare=Raises(ValueError),
                hint="rejects p above 1")
    yield Probe(c, "bernoulli_entropy(-1e-9)", compare=Raises(ValueError),
                hint="rejects a negative p")
    yield Probe(c, "bernoulli_entropy(np.nan)", compare=Raises(ValueError), hint="rejects NaN")


def _real_data():
    c = "test_real_data"
    split = load_digits_split()
    yield Probe(c, "text_entropy('abab')", hint="two equally frequent characters", compare=VISIBLE, visible=True)
    yield Probe(c, "text_entropy('aaaa')", hint="one character", compare=VISIBLE, visible=True)
    yield Probe(c, "text_entropy(text)", {"text": SAMPLE_TEXT}, hint="the sample text")
    yield Probe(c, "text_entropy('abcd' * 3)", compare=Close(rtol=1e-12),
                hint="four equally frequent characters")
    yield Probe(c, "ink_entropies(X, y)", {"X": split.X_train, "y": split.y_train},
                Close(rtol=1e-9), hint="the training split")
    yield Probe(c, "ink_entropies(X, y)", {"X": split.X_test, "y": split.y_test},
                Close(rtol=1e-9), hint="the test split")


class Answers:
    """Any number: the call must not be refused (the value is another probe's business)."""

    def __call__(self, got, ref):
        if isinstance(got, Raised):
            return False, f"expected a number, but the call raised {got.mro[0]}"
        if not isinstance(got, (np.ndarray, float, int)):
            return False, "expected a number"
        return True, "ok"


class NonNegative(Close):
    """Close to the solution's numbers, and none of them below zero."""

    def __call__(self, got, ref):
        ok, message = super().__call__(got, ref)
        if ok and np.any(np.asarray(got) < 0):
            return False, "a mutual information below zero"
        return ok, message


def _tables(seed):
    """The random tables of a hidden test: shape -> table, and the table with gaps."""
    rng = np.random.default_rng(seed)
    tables = {}
    for shape in [(3, 4), (6, 2), (1, 5), (5, 1), (7, 7)]:
        tables[shape] = rng.dirichlet(np.full(shape[0] * shape[1], 0.4)).reshape(shape)
    gaps = rng.dirichlet(np.ones(20)).reshape(4, 5)
    gaps[1] = 0.0
    gaps[:, 3] = 0.0
    gaps[2, 0] = 0.0
    gaps /= gaps.sum()
    return rng, tables, gaps


def _digits_pixel_joint():
    split = load_digits_split()
    level = split.X_train[:, 3, 4].astype(np.int64) // 5
    joint = np.zeros((4, 10))
    np.add.at(joint, (level, split.y_train), 1.0)
    return joint / joint.sum()


EXAMPLE = np.array([[0.5, 0.0], [0.25, 0.25]])
T32 = np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32)


def _conditional_entropy():
    c = "test_conditional_entropy"
    f = "conditional_entropy"
    yield Probe(c, f"{f}(np.full((2, 2), 0.25))", hint="independent fair coins", compare=VISIBLE, visible=True)
    yield Probe(c, f"{f}([[0.5, 0.0], [0.0, 0.5]])", hint="Y = X", compare=VISIBLE, visible=True)
    yield Probe(c, f"{f}(t)", {"t": EXAMPLE}, hint="rows are X, columns Y", compare=VISIBLE, visible=True)
    yield Probe(c, f"{f}(t, base=np.e)", {"t": EXAMPLE}, hint="nats (base e)", compare=VISIBLE, visible=True)
    yield Probe(c, f"{f}([0.5, 0.5])", compare=Raises(ValueError, "2-d|two|dim"),
                hint="rejects a 1-D table", visible=True)
    _, tables, gaps = _tables(2024)
    loose = Close(rtol=1e-9, atol=1e-15, dtype="float64")
    for shape, table in tables.items():
        yield Probe(c, f"{f}(t)", {"t": table}, loose, hint=f"a random {shape} table")
        yield Probe(c, f"{f}(t, base=np.e)", {"t": table}, loose,
                    hint=f"a random {shape} table in nats")
    yield Probe(c, f"{f}(t)", {"t": gaps}, hint="a value of X that never occurs (empty row)")
    yield Probe(c, f"{f}(t.T)", {"t": gaps}, hint="the transposed table with an empty column")
    yield Probe(c, f"{f}([[1.0]])", hint="a 1x1 table")
    yield Probe(c, f"{f}(np.full((1, 8), 1 / 8))", compare=Close(rtol=1e-12),
                hint="a single value of X")
    yield Probe(c, f"{f}([[1e-300, 1e-300], [0.0, 1.0]])", hint="a row of tiny probabilities")
    yield Probe(c, f"{f}(t)", {"t": T32}, Close(rtol=1e-6, dtype="float64"),
                hint="a float32 table, float64 result")
    yield Probe(c, f"{f}(np.full((10, 10), 0.01), base=10)", compare=Close(rtol=1e-12),
                hint="base 10")
    yield Probe(c, f"{f}(t)", {"t": _digits_pixel_joint()}, hint="a pixel of the digits")
    yield Probe(c, f"{f}(np.full((2, 2, 2), 0.125))", compare=Raises(ValueError, "2-d|two|dim"),
                hint="rejects a 3-D table")
    yield Probe(c, f"{f}(np.zeros((0, 3)))", compare=Raises(ValueError, "empty|size|rows|columns"),
                hint="rejects an empty table")
    yield Probe(c, f"{f}([[0.5, 0.6], [-0.1, 0.0]])", compare=Raises(ValueError, "negative"),
                hint="rejects a negative entry")
    yield Probe(c, f"{f}([[0.5, np.nan], [0.25, 0.25]])", compare=Raises(ValueError, "nan"),
                hint="rejects NaN")
    yield Probe(c, f"{f}([[1.0, 2.0], [3.0, 4.0]])", compare=Raises(ValueError, "sum"),
                hint="rejects a table of counts")
    yield Probe(c, f"{f}([[0.5, 0.5 + 2e-6]])", compare=Raises(ValueError, "sum"),
                hint="rejects a table that misses 1 by more than 1e-6")
    yield Probe(c, f"{f}([[0.5, 0.5 + 5e-7]])", compare=Close(rtol=1e-5),
                hint="accepts a table that sums to 1 within 1e-6")
    yield Probe(c, f"{f}(t, base=1)", {"t": EXAMPLE}, Raises(ValueError, "base"),
                hint="rejects base 1")
    yield Probe(c, f"{f}(t, base=-2.0)", {"t": EXAMPLE}, Raises(ValueError, "base"),
                hint="rejects a negative base")
    yield Probe(c, f"{f}(t, base=0)", {"t": EXAMPLE}, Raises(ValueError, "base"),
                hint="rejects base 0")
    yield Probe(c, f"{f}(t, base=0.5)", {"t": EXAMPLE}, Close(rtol=1e-12), hint=BASE_HALF)


def _mutual_information():
    c = "test_mutual_information"
    f = "mutual_information"
    zero = NonNegative(rtol=1e-9, atol=1e-12)
    yield Probe(c, f"{f}(np.full((2, 2), 0.25))", compare=zero, hint="independent fair coins")
    yield Probe(c, f"{f}([[0.5, 0.0], [0.0, 0.5]])", hint="Y = X", compare=VISIBLE, visible=True)
    yield Probe(c, f"{f}(t)", {"t": EXAMPLE}, hint="H(Y) - H(Y|X)", compare=VISIBLE, visible=True)
    yield Probe(c, f"{f}(t.T)", {"t": EXAMPLE}, hint="the transposed table: I(X;Y) = I(Y;X)")
    yield Probe(c, f"{f}([[0.5, 0.6]])", compare=Raises(ValueError, "sum"),
                hint="rejects a table that does not sum to 1", visible=True)
    rng, tables, gaps = _tables(2025)
    loose = NonNegative(rtol=1e-9, atol=1e-13, dtype="float64")
    for shape, table in tables.items():
        yield Probe(c, f"{f}(t)", {"t": table}, loose, hint=f"a random {shape} table")
        yield Probe(c, f"{f}(t, base=np.e)", {"t": table}, loose,
                    hint=f"a random {shape} table in nats")
    yield Probe(c, f"{f}(t)", {"t": gaps}, hint="an empty row and an empty column")
    independent = np.einsum("ni,nj->nij", rng.dirichlet(np.ones(4), size=20),
                            rng.dirichlet(np.ones(5), size=20))
    yield Probe(c, f"np.array([{f}(t) for t in tables])", {"tables": independent},
                NonNegative(atol=1e-12), hint="independent X and Y: zero, never negative")
    yield Probe(c, f"{f}(np.eye(8) / 8)", compare=Close(rtol=1e-12), hint="X determines Y")
    yield Probe(c, f"{f}(np.full((1, 8), 1 / 8))", compare=zero, hint="a single value of X")
    yield Probe(c, f"{f}(t)", {"t": T32}, Close(rtol=1e-6, dtype="float64"),
                hint="a float32 table, float64 result")
    yield Probe(c, f"{f}(np.eye(10) / 10, base=10)", compare=Close(rtol=1e-12), hint="base 10")
    yield Probe(c, f"{f}(t)", {"t": _digits_pixel_joint()}, hint="a pixel of the digits")
    yield Probe(c, f"{f}([0.25, 0.75])", compare=Raises(ValueError, "2-d|two|dim"),
                hint="rejects a 1-D table")
    yield Probe(c, f"{f}(np.zeros((3, 0)))", compare=Raises(ValueError, "empty|size|rows|columns"),
                hint="rejects an empty table")
    yield Probe(c, f"{f}([[0.5, 0.6], [-0.1, 0.0]])", compare=Raises(ValueError, "negative"),
                hint="rejects a negative entry")
    yield Probe(c, f"{f}([[np.nan, 0.5], [0.25, 0.25]])", compare=Raises(ValueError, "nan"),
                hint="rejects NaN")
    yield Probe(c, f"{f}([[1.0, 2.0], [3.0, 4.0]])", compare=Raises(ValueError, "sum"),
                hint="rejects a table of counts")
    yield Probe(c, f"{f}(t, base=0)", {"t": EXAMPLE}, Raises(ValueError, "base"),
                hint="rejects base 0")
    yield Probe(c, f"{f}(t, base=np.inf)", {"t": EXAMPLE}, Raises(ValueError, "base"),
                hint="rejects an infinite base")
    yield Probe(c, f"{f}(t, base=0.5)", {"t": EXAMPLE}, Answers(), hint=BASE_HALF)
    yield Probe(c, f"{f}(np.full((2, 2, 2), 0.125))", compare=Raises(ValueError, "2-d|two|dim"),
                hint="rejects a 3-D table")
    yield Probe(c, f"{f}([[0.5, 0.5 + 2e-6]])", compare=Raises(ValueError, "sum"),
                hint="rejects a table that misses 1 by more than 1e-6")


def probes():
    """Every probe, in notebook order."""
    yield from _self_information()
    yield from _entropy()
    yield from _bernoulli()
    yield from _real_data()
    yield from _conditional_entropy()
    yield from _mutual_information()


# Each rule the notebook's text states, and the probes (by hint) that check it
# (autograder/requirements.py; `python -m autograder requirements ps01_information`).
REQUIREMENTS = {
    "Replace every `raise NotImplementedError()`": BY_NAME,
    "Do not rename the functions": BY_NAME,
    "more tests, hidden here": DESCRIBES,
    "A graded call that warns": WARNINGS_RULE,
    "Return a float64 array of the same shape as `p`": [
        "float32 input, float64 result", "an array of probabilities"],
    "`p = 0` is allowed": ["an impossible event", WARNINGS_RULE],
    "Raise `ValueError`, with a message that says what is wrong, when any probability": [
        "rejects a negative probability", "rejects a probability above 1", "rejects NaN",
        "rejects base 1", "rejects a negative base", "rejects base 0", BASE_HALF],
    "Use the convention $0 \\log 0 = 0$ (no `nan`, no warning)": [
        "0 log 0 = 0", "a one-hot distribution", WARNINGS_RULE],
    "Compute and return float64, even for float32 input": [
        "float32 input, float64 result, no renormalising"],
    "Raise `ValueError` when an entry is negative or NaN": [
        "rejects a negative entry", "rejects NaN", "rejects a batch row that does not sum to 1",
        "rejects a distribution that misses 1 by more than 1e-6",
        "accepts a distribution that sums to 1 within 1e-6",
        "rejects an empty last axis", "rejects a single number (it has no last axis)",
        "rejects base 0", BASE_HALF],
    "It must stay accurate for tiny `p`": ["a tiny p (needs log1p)", "p near 1"],
    "Raise `ValueError` for probabilities outside": [
        "rejects p above 1", "rejects a negative p", "rejects NaN"],
    "a length-10 float64 array whose entry `d`": ["the training split", "the test split"],
    "the floor of the cross-entropy of any classifier": [
        "independent fair coins", "rows are X, columns Y", "a pixel of the digits"],
    "a row with $p(x) = 0$": ["a value of X that never occurs (empty row)", WARNINGS_RULE],
    "Compute in float64 (also for float32 tables)": [
        "a float32 table, float64 result", "nats (base e)"],
    "`mutual_information` is never negative": ["independent X and Y: zero, never negative"],
    "Raise `ValueError` with a message that names the problem when `joint` is not 2-D": [
        "rejects a 1-D table", "rejects a 3-D table", "rejects an empty table",
        "rejects a negative entry", "rejects NaN", "rejects a table of counts",
        "rejects a table that misses 1 by more than 1e-6",
        "accepts a table that sums to 1 within 1e-6",
        "rejects base 1", "rejects base 0", "rejects an infinite base", BASE_HALF],
}
