"""Judge spec for ps01_information (instructor only: the release ignores *.py files).

Each probe calls a student function inside the sandbox; the trusted judge compares the
result with what the solution in ps01_information.py returns for the same call. The
probes of a test cell check what the cell's visible and hidden tests check, so an honest
notebook and the judge agree (a disagreement flags the submission tamper_suspected).
See autograder/spec.py for the format.
"""

import numpy as np
import scipy.stats  # noqa: F401 (the reference answers use the solution, not scipy)

from autograder.spec import Close, Probe, Raises
from infoloss.data import SAMPLE_TEXT, load_digits_split

WARM = ["numpy", "scipy.stats", "sklearn.datasets", "sklearn.model_selection",
        "infoloss.data", "infoloss.testing"]
LIMITS = {"memory": 2 * 2**30}

F64 = Close(rtol=1e-9, dtype="float64")


def _self_information():
    c = "test_self_information"
    yield Probe(c, "self_information(0.5)", hint="a fair coin carries one bit")
    yield Probe(c, "self_information(1 / 6)", hint="a fair die")
    yield Probe(c, "self_information(np.array([1.0, 0.25]))", hint="an array of probabilities")
    yield Probe(c, "self_information(0.5, base=np.e)", hint="nats (base e)")
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
                hint="rejects a negative probability")
    yield Probe(c, "self_information(1.5)", compare=Raises(ValueError, "probab"),
                hint="rejects a probability above 1")
    yield Probe(c, "self_information(np.array([0.5, np.nan]))", compare=Raises(ValueError, "nan"),
                hint="rejects NaN")
    yield Probe(c, "self_information(0.5, base=1)", compare=Raises(ValueError, "base"),
                hint="rejects base 1")
    yield Probe(c, "self_information(0.5, base=-2)", compare=Raises(ValueError, "base"),
                hint="rejects a negative base")


def _entropy():
    c = "test_entropy"
    yield Probe(c, "entropy([0.5, 0.5])", hint="a fair coin")
    yield Probe(c, "entropy([1.0, 0.0])", hint="0 log 0 = 0")
    yield Probe(c, "entropy(np.full(8, 1 / 8))", hint="a fair 8-sided die")
    yield Probe(c, "entropy([[0.5, 0.5], [0.25, 0.75]])", hint="a batch of two coins")
    yield Probe(c, "entropy([0.5, 0.6])", compare=Raises(ValueError, "sum"),
                hint="rejects a distribution that does not sum to 1")
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


def _bernoulli():
    c = "test_bernoulli_entropy"
    yield Probe(c, "bernoulli_entropy(0.5)", hint="a fair coin, in nats")
    yield Probe(c, "bernoulli_entropy(np.array([0.0, 1.0]))", hint="certain outcomes")
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
    yield Probe(c, "text_entropy('abab')", hint="two equally frequent characters")
    yield Probe(c, "text_entropy('aaaa')", hint="one character")
    yield Probe(c, "text_entropy(text)", {"text": SAMPLE_TEXT}, hint="the sample text")
    yield Probe(c, "text_entropy('abcd' * 3)", compare=Close(rtol=1e-12),
                hint="four equally frequent characters")
    yield Probe(c, "ink_entropies(X, y)", {"X": split.X_train, "y": split.y_train},
                Close(rtol=1e-9), hint="the training split")
    yield Probe(c, "ink_entropies(X, y)", {"X": split.X_test, "y": split.y_test},
                Close(rtol=1e-9), hint="the test split")


def probes():
    """Every probe, in notebook order."""
    yield from _self_information()
    yield from _entropy()
    yield from _bernoulli()
    yield from _real_data()
