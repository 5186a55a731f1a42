"""Judge spec for ps08_sampling (instructor only: the release ignores *.py files).

The hidden checks of the notebook, written once: ``release`` generates each test cell's
hidden block from these probes (autograder/checks.py), so stock nbgrader runs them in the
kernel and the judge runs them in the sandbox; both compare with what the solution in
ps08_sampling.py returns for the same call. Probes marked ``visible=True`` repeat a visible
test (same call, its tolerance). The sampler is judged by statistics, not by its exact
draws (students may use the Generator differently): the probes count many draws with a
fixed seed, and the comparator checks the frequencies against the exact distribution, with
a tolerance of five binomial standard errors per symbol and zero draws where the
probability is 0 (which also bounds the total variation distance by 2.5 sqrt(V / n)). See
autograder/spec.py.
"""

import numpy as np

from autograder.requirements import BY_NAME, DESCRIBES, WARNINGS_RULE
from autograder.spec import CheckClose, Close, Exact, Parts, Probe, Raises

WARM = ["numpy", "infoloss.testing", "infoloss.text"]

DIST = Close(rtol=1e-10, atol=1e-15, dtype="float64")


# The visible tests' logits, in all three tasks.
Z_VISIBLE = np.array([2.0, 1.0, 0.0, -1.0])
ZZ_VISIBLE = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])


def _softmax(z, T):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp((z - z.max()) / T)
    return e / e.sum()


def _sampling_distribution():
    c = "test_sampling_distribution"
    zv = {"zv": Z_VISIBLE}
    for expr, compare, hint in [
            ("zv, 1.0", CheckClose(rtol=1e-12), "T = 1 is softmax (the visible example)"),
            ("zv, 0.5", CheckClose(rtol=1e-12), "T = 0.5 divides the logits by T"),
            ("zv, 0", CheckClose(), "T = 0 is greedy (the visible example)"),
            ("zv, 1.0, top_k=2", CheckClose(rtol=1e-12), "top_k = 2 keeps the two largest"),
            ("zv, 1.0, top_p=0.7", CheckClose(rtol=1e-12), "top_p = 0.7 keeps the crossing symbol"),
            ("[[1e4, 0.0], [0.0, 0.0]], 0.01", CheckClose(),
             "huge logits at a small T, and a batch of rows"),
            ("zv, -1.0", Raises(ValueError, "T"), "rejects T = -1"),
            ("zv, 1.0, top_p=0.0", Raises(ValueError, "top_p"), "rejects top_p = 0 (the visible example)")]:
        yield Probe(c, f"sampling_distribution({expr})", zv, compare, visible=True, hint=hint)
    rng = np.random.default_rng(70)
    z = np.array([1.5, -0.5, 0.25, 2.0, 0.0])
    yield Probe(c, "sampling_distribution(z, 1.0)", {"z": z}, DIST, hint="T = 1 is softmax")
    yield Probe(c, "sampling_distribution(z, 0.4)", {"z": z}, DIST,
                hint="a low T divides the logits, not the probabilities")
    yield Probe(c, "sampling_distribution(z, 3.0)", {"z": z}, DIST, hint="a high T")
    yield Probe(c, "sampling_distribution(z, 0)", {"z": z}, DIST, hint="T = 0 is greedy")
    for V, T, k, p in [(7, 1.0, 3, None), (12, 0.6, None, 0.5), (12, 1.7, 5, 0.85),
                       (40, 0.9, 12, 0.93), (6, 1.0, 10, None), (9, 1.0, None, 1.0),
                       (9, 0.08, 2, 0.4), (5, 4.0, 5, None)]:
        zz = rng.normal(size=(4, V)) * 2
        yield Probe(c, f"sampling_distribution(zz, {T}, top_k={k}, top_p={p})", {"zz": zz}, DIST,
                    hint=f"a batch, V={V}, T={T}, top_k={k}, top_p={p}")
        yield Probe(c, f"sampling_distribution(zz[1], {T}, top_k={k}, top_p={p})", {"zz": zz},
                    DIST, hint="one row (1-D logits)")
    yield Probe(c, "sampling_distribution([1.0, 2.0, 2.0, 2.0, 1.0, 0.0], 1.0, top_k=2)",
                compare=DIST, hint="ties at the top-k boundary: the lower index wins")
    yield Probe(c, "sampling_distribution(np.full(4, 2.5), 0.7, top_k=1)", compare=DIST,
                hint="top_k = 1 among equal logits keeps the lowest index")
    yield Probe(c, "sampling_distribution(np.zeros(5), 1.0, top_p=0.5)", compare=DIST,
                hint="top-p among equal probabilities, by index")
    zt = np.log(np.array([0.35, 0.3, 0.2, 0.15]))
    yield Probe(c, "sampling_distribution(zt, 1.0, top_p=0.6)", {"zt": zt}, DIST,
                hint="top-p keeps the symbol that crosses p")
    yield Probe(c, "sampling_distribution(zt, 1.0, top_k=3, top_p=0.8)", {"zt": zt}, DIST,
                hint="top-p on the renormalised top-k distribution")
    yield Probe(c, "sampling_distribution(zt, 2.0, top_p=0.6)", {"zt": zt}, DIST,
                hint="top-p on the tempered distribution")
    yield Probe(c, "sampling_distribution(zt, 1.0, top_p=0.2)", {"zt": zt}, DIST,
                hint="top_p below the largest probability")
    yield Probe(c, "sampling_distribution(np.array([[2.0, 6.0, 6.0], [-np.inf, -1.0, -4.0]]), 0, "
                   "top_k=2, top_p=0.3)", compare=DIST, hint="greedy with ties and -inf")
    yield Probe(c, "sampling_distribution(np.array([[0.0, 3.0, 1.0], [5.0, 0.0, 2.0], "
                   "[1.0, 1.0, 4.0]]), 0)", compare=DIST,
                hint="greedy on a batch: each row's own largest logit")
    yield Probe(c, "sampling_distribution(np.array([0.0, -np.inf, 1.0]), 1.5)", compare=DIST,
                hint="-inf logits are never drawn")
    yield Probe(c, "sampling_distribution(np.array([-np.inf, -np.inf, 4.0, -np.inf]), 1.0, "
                   "top_p=1.0)", compare=DIST, hint="one finite logit")
    yield Probe(c, "sampling_distribution(np.array([[3e4, 0.0, -2e4]]), 0.002)", compare=DIST,
                hint="huge logits at a small T")
    yield Probe(c, "sampling_distribution(np.array([[-1e300, 1e300, 0.0]]), 0.5)", compare=DIST,
                hint="extreme logits")
    yield Probe(c, "sampling_distribution(z.astype(np.float32), 0.7)", {"z": z},
                Close(rtol=1e-6, dtype="float64"), hint="float32 logits give float64")
    yield Probe(c, "sampling_distribution([[1, 3, 2]], 2)", compare=DIST,
                hint="integer logits and an integer T")
    yield Probe(c, "sampling_distribution([2.0], 0.5, top_k=1, top_p=0.1)", compare=DIST,
                hint="a vocabulary of one")
    yield Probe(c, "(lambda a: (sampling_distribution(a, 0.5, top_k=2, top_p=0.5), a)[1])(z.copy())",
                {"z": z}, Close(rtol=0.0), hint="the input is not changed")
    for expr, match, hint in [
            ("np.zeros((2, 3, 2)), 1.0", "shape", "rejects 3-D logits"),
            ("np.zeros(0), 1.0", "shape", "rejects empty logits"),
            ("[1.0, np.nan], 1.0", "logits", "rejects NaN"),
            ("[1.0, np.inf], 1.0", "logits", "rejects +inf"),
            ("[[1.0, 0.0], [-np.inf, -np.inf]], 1.0", "logits", "rejects a row without a finite entry"),
            ("z, -0.5", "T", "rejects a negative T"),
            ("z, np.nan", "T", "rejects T = NaN"),
            ("z, np.inf", "T", "rejects an infinite T"),
            ("z, 1.0, top_k=0", "top_k", "rejects top_k = 0"),
            ("z, 1.0, top_k=1.5", "top_k", "rejects a fractional top_k"),
            ("z, 1.0, top_k=True", "top_k", "rejects a boolean top_k"),
            ("z, 1.0, top_p=0.0", "top_p", "rejects top_p = 0"),
            ("z, 1.0, top_p=1.01", "top_p", "rejects top_p above 1"),
            ("z, 1.0, top_p=-0.2", "top_p", "rejects a negative top_p")]:
        yield Probe(c, f"sampling_distribution({expr})", {"z": z}, Raises(ValueError, match),
                    hint=hint)


class Frequencies:
    """Counts of ``n`` draws per row against the exact distribution of each row."""

    def __init__(self, q, n):
        self.q = np.atleast_2d(np.asarray(q, dtype=np.float64))
        self.n = n

    def __call__(self, got, ref):
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "iu" or \
                got.shape != self.q.shape:
            return False, f"expected counts of shape {self.q.shape}"
        if np.any(got.sum(axis=1) != self.n):
            return False, "draws out of range or missing"
        f = got / self.n
        if np.any(f[self.q == 0] > 0):
            return False, "drew a symbol of probability 0"
        se = np.sqrt(self.q * (1 - self.q) / self.n)
        if np.any(np.abs(f - self.q) >= 5 * se + 1e-12):
            return False, "frequencies too far from the exact distribution"
        return True, "ok"


COUNTS = ("(lambda d: np.bincount(d, minlength={V})[None].astype(np.int64))("
          "sample_with_temperature(z, {T}, np.random.default_rng({seed}), top_k={k}, "
          "top_p={p}, size={n}))")
COUNTS_2D = ("(lambda d: np.stack([np.bincount(r, minlength={V}) for r in d]).astype(np.int64))("
             "sample_with_temperature(zb, {T}, np.random.default_rng({seed}), top_p={p}, "
             "size={n}))")


def _reference_distribution(z, T, k, p):
    """The exact truncated distribution of one row (the task's rules, written again here)."""
    if T == 0:
        out = np.zeros(len(z))
        out[int(np.argmax(z))] = 1.0
        return out
    q = _softmax(z, T)
    rank = sorted(range(len(z)), key=lambda i: (-q[i], i))
    kept = rank[:k] if k is not None else rank
    qk = np.zeros(len(z))
    qk[kept] = q[kept]
    qk /= qk.sum()
    if p is not None:
        acc, nucleus = 0.0, []
        for i in rank:
            if qk[i] > 0 and acc < p:
                nucleus.append(i)
            acc += qk[i]
        out = np.zeros(len(z))
        out[nucleus] = qk[nucleus]
        qk = out / out.sum()
    return qk


# The visible test's 40000 draws: its shape, frequency and same-seed checks, as it makes them
# (against the submission's own sampling_distribution).
VISIBLE_DRAWS = (
    "(lambda d, q: [d.shape == (40000,) and d.dtype == np.int64, "
    "bool(np.all(np.abs(np.bincount(d, minlength=4) / 40000 - q) "
    "< 5 * np.sqrt(q * (1 - q) / 40000) + 1e-12)), "
    "bool(np.array_equal(d, sample_with_temperature(zv, 0.5, np.random.default_rng(1), "
    "size=40000)))])"
    "(sample_with_temperature(zv, 0.5, np.random.default_rng(1), size=40000), "
    "sampling_distribution(zv, 0.5))")


def _sample_with_temperature():
    c = "test_sample_with_temperature"
    zv = {"zv": Z_VISIBLE}
    yield Probe(c, "(lambda s: isinstance(s, int) and 0 <= s < 4)(sample_with_temperature(zv, 1.0, "
                   "np.random.default_rng(0)))", zv, Exact(), visible=True,
                hint="one draw is an int in 0..3")
    yield Probe(c, VISIBLE_DRAWS, zv, Parts(
        ("size=n gives an int64 array (n,)", Exact()),
        ("frequencies within 5 standard errors of your sampling_distribution", Exact()),
        ("the same seed gives the same samples", Exact())), visible=True,
        hint="40000 draws at T = 0.5 (the visible example)")
    yield Probe(c, "set(np.unique(sample_with_temperature(zv, 1.0, np.random.default_rng(2), "
                   "top_k=2, size=5000))) <= {0, 1}", zv, Exact(), visible=True,
                hint="top_k = 2 never draws symbols 2 or 3")
    yield Probe(c, "sample_with_temperature(zv, 1.0, 42)", zv, Raises(ValueError, "rng"),
                visible=True, hint="rejects the seed 42 in place of a Generator")
    rng = np.random.default_rng(71)
    z = rng.normal(size=10) * 1.5
    n = 100_000
    for T, k, p, seed in [(1.0, None, None, 1), (0.5, None, None, 2), (2.0, None, None, 3),
                          (1.0, 4, None, 4), (1.0, None, 0.7, 5), (1.3, 5, 0.9, 6)]:
        yield Probe(c, COUNTS.format(V=10, T=T, seed=seed, k=k, p=p, n=n), {"z": z},
                    Frequencies(_reference_distribution(z, T, k, p), n),
                    hint=f"frequencies of {n} draws, T={T}, top_k={k}, top_p={p}")
    zi = np.array([0.5, -np.inf, 0.0, -np.inf, 1.0])
    yield Probe(c, COUNTS.format(V=5, T=1.0, seed=7, k=None, p=None, n=50_000), {"z": zi},
                Frequencies(_reference_distribution(zi, 1.0, None, None), 50_000),
                hint="-inf logits are never drawn")
    zp = np.log(np.array([0.35, 0.3, 0.2, 0.15]))
    yield Probe(c, COUNTS.format(V=4, T=1.0, seed=8, k=None, p=0.6, n=50_000), {"z": zp},
                Frequencies(_reference_distribution(zp, 1.0, None, 0.6), 50_000),
                hint="top-p keeps the crossing symbol")
    zb = rng.normal(size=(3, 6))
    qb = np.stack([_reference_distribution(r, 0.8, None, 0.75) for r in zb])
    yield Probe(c, COUNTS_2D.format(V=6, T=0.8, seed=9, p=0.75, n=60_000), {"zb": zb},
                Frequencies(qb, 60_000), hint="a batch of rows, size draws each")
    yield Probe(c, "sample_with_temperature(np.array([[0.0, 60.0, 0.0], [60.0, 0.0, 0.0]]), 1.0, "
                   "np.random.default_rng(0))", compare=Exact(), hint="one draw per row")
    yield Probe(c, "sample_with_temperature(np.array([[0.0, 60.0, 0.0], [60.0, 0.0, 0.0]]), 1.0, "
                   "np.random.default_rng(0), size=4)", compare=Exact(),
                hint="size draws per row: shape (N, size)")
    yield Probe(c, "sample_with_temperature([1.0, 4.0, 4.0], 0, np.random.default_rng(3), size=50)",
                compare=Exact(), hint="greedy: always the first largest logit")
    yield Probe(c, "type(sample_with_temperature(z, 1.0, np.random.default_rng(4))).__name__",
                {"z": z}, Exact(), hint="one draw from 1-D logits is an int")
    yield Probe(c, "sample_with_temperature(z, 1.0, np.random.default_rng(4), size=0)", {"z": z},
                Exact(), hint="size=0")
    yield Probe(c, "bool(np.array_equal(sample_with_temperature(z, 1.0, np.random.default_rng(5), "
                   "top_k=3, size=300), sample_with_temperature(z, 1.0, np.random.default_rng(5), "
                   "top_k=3, size=300)))", {"z": z}, Exact(), hint="the same seed repeats")
    yield Probe(c, "bool(np.array_equal(sample_with_temperature(z, 1.0, np.random.default_rng(5), "
                   "size=300), sample_with_temperature(z, 1.0, np.random.default_rng(6), "
                   "size=300)))", {"z": z}, Exact(), hint="another seed, other samples")
    yield Probe(c, "(lambda s: (np.random.seed(5), sample_with_temperature(z, 1.0, "
                   "np.random.default_rng(1), size=200), "
                   "bool(np.array_equal(np.random.get_state()[1], s)))[2])"
                   "((np.random.seed(5), np.random.get_state()[1].copy())[1])", {"z": z}, Exact(),
                hint="draws only from the Generator passed in")
    for expr, match, hint in [
            ("z, 1.0, 7", "rng", "rejects a seed in place of a Generator"),
            ("z, 1.0, np.random.RandomState(0)", "rng", "rejects a RandomState"),
            ("z, 1.0, np.random.default_rng(0), size=-2", "size", "rejects a negative size"),
            ("z, 1.0, np.random.default_rng(0), size=1.5", "size", "rejects a fractional size"),
            ("z, -1.0, np.random.default_rng(0)", "T", "rejects a negative T"),
            ("z, 1.0, np.random.default_rng(0), top_k=0", "top_k", "rejects top_k = 0"),
            ("z, 1.0, np.random.default_rng(0), top_p=1.5", "top_p", "rejects top_p above 1"),
            ("[np.nan, 0.0], 1.0, np.random.default_rng(0)", "logits", "rejects NaN logits")]:
        yield Probe(c, f"sample_with_temperature({expr})", {"z": z}, Raises(ValueError, match),
                    hint=hint)


def _perplexity():
    c = "test_perplexity"
    rng = np.random.default_rng(72)
    ppl = Close(rtol=1e-10, dtype="float64")
    zz = {"zz": ZZ_VISIBLE}
    yield Probe(c, "(lambda p: [isinstance(p, float), p])(perplexity(np.zeros((5, 7)), "
                   "np.arange(5)))", compare=Parts(("a float", Exact()),
                                                   ("the value", CheckClose(rtol=1e-12))),
                visible=True, hint="the uniform model's perplexity is V, a float")
    yield Probe(c, "perplexity(zz, np.array([0, 2]))", zz, CheckClose(rtol=1e-12), visible=True,
                hint="exp of the mean cross-entropy in nats (the visible example)")
    yield Probe(c, "perplexity(zz + 1e4, np.array([0, 2]))", zz, CheckClose(rtol=1e-9),
                visible=True, hint="huge logits (the visible example)")
    yield Probe(c, "perplexity(zz, np.array([0, 3]))", zz, Raises(ValueError, "target"),
                visible=True, hint="rejects the target 3 of three symbols")
    yield Probe(c, "perplexity(np.zeros((6, 9)), np.arange(6))", compare=ppl,
                hint="the uniform model's perplexity is V")
    for N, V, scale in [(1, 1, 1.0), (80, 12, 2.5), (500, 97, 1.0), (4, 3, 40.0)]:
        zr = rng.normal(size=(N, V)) * scale
        yr = rng.integers(0, V, size=N)
        yield Probe(c, "perplexity(zr, yr)", {"zr": zr, "yr": yr}, ppl,
                    hint=f"exp of the mean cross-entropy in nats, N={N}, V={V}")
        yield Probe(c, "perplexity(zr.tolist(), yr.tolist())", {"zr": zr, "yr": yr}, ppl,
                    hint="lists")
    zr = rng.normal(size=(20, 5))
    yr = rng.integers(0, 5, size=20)
    yield Probe(c, "perplexity(zr + 1e4, yr)", {"zr": zr, "yr": yr}, Close(rtol=1e-8),
                hint="huge logits")
    yield Probe(c, "perplexity(zr.astype(np.float32), yr)", {"zr": zr, "yr": yr},
                Close(rtol=1e-6), hint="float32 logits")
    yield Probe(c, "perplexity(zr, yr.astype(np.int32))", {"zr": zr, "yr": yr}, ppl,
                hint="int32 targets")
    yield Probe(c, "perplexity(np.array([[1e300, 0.0], [0.0, 1e300]]), np.array([0, 1]))",
                compare=ppl, hint="certain and right: perplexity 1")
    yield Probe(c, "perplexity(np.array([[0.0, -np.inf, 0.0, 0.0]]), np.array([3]))",
                compare=ppl, hint="a -inf logit")
    yield Probe(c, "perplexity(np.array([[0.0, -np.inf]]), np.array([1]))", compare=Close(),
                hint="probability 0 gives inf")
    yield Probe(c, "perplexity(np.array([[0.0, -3e3]]), np.array([1]))", compare=Close(),
                hint="a perplexity beyond float64 is inf")
    yield Probe(c, "perplexity(np.array([[0.0, -705.0]]), np.array([1]))", compare=Close(rtol=1e-9),
                hint="a large but finite perplexity")
    for expr, match, hint in [
            ("np.zeros(3), np.zeros(3, dtype=int)", "shape", "rejects 1-D logits"),
            ("np.zeros((0, 4)), np.zeros(0, dtype=int)", "shape", "rejects empty logits"),
            ("zr, yr[:5]", "shape", "rejects targets of the wrong shape"),
            ("zr, yr[:1]", "shape", "rejects one target for many rows"),
            ("zr, yr[:, None]", "shape", "rejects targets of shape (N, 1)"),
            ("zr, yr + 5", "target", "rejects targets out of range"),
            ("zr, yr - 6", "target", "rejects negative targets"),
            ("zr, yr.astype(float)", "target", "rejects float targets"),
            ("np.array([[np.nan, 0.0]]), np.array([0])", "logits", "rejects NaN"),
            ("np.array([[np.inf, 0.0]]), np.array([0])", "logits", "rejects +inf"),
            ("np.array([[-np.inf, -np.inf]]), np.array([0])", "logits",
             "rejects a row without a finite entry"),
            ("np.array([[0.0, 1.0], [-np.inf, -np.inf]]), np.array([0, 1])", "logits",
             "rejects a batch with one row without a finite entry")]:
        yield Probe(c, f"perplexity({expr})", {"zr": zr, "yr": yr}, Raises(ValueError, match),
                    hint=hint)


def probes():
    """Every probe, in notebook order."""
    yield from _sampling_distribution()
    yield from _sample_with_temperature()
    yield from _perplexity()


# Each rule the notebook's text states, and the probes (by hint) that check it
# (autograder/requirements.py; `python -m autograder requirements ps08_sampling`).
_T1_RAISES = ["rejects 3-D logits", "rejects empty logits", "rejects NaN", "rejects +inf",
              "rejects a row without a finite entry", "rejects a negative T", "rejects T = -1",
              "rejects T = NaN", "rejects an infinite T", "rejects top_k = 0",
              "rejects a fractional top_k", "rejects a boolean top_k", "rejects top_p = 0",
              "rejects top_p = 0 (the visible example)", "rejects top_p above 1",
              "rejects a negative top_p"]
REQUIREMENTS = {
    "Replace every `raise NotImplementedError()`": BY_NAME,
    "Do not rename the functions": BY_NAME,
    "more tests, hidden here": DESCRIBES,
    "A graded call that warns": WARNINGS_RULE,
    "Entries may be `-inf` (a symbol that is never drawn)": [
        "-inf logits are never drawn", "one finite logit", "rejects a row without a finite entry",
        "rejects NaN", "rejects +inf"],
    "**Temperature.**": [
        "T = 1 is softmax", "a low T divides the logits, not the probabilities", "a high T",
        "huge logits at a small T", "extreme logits", WARNINGS_RULE,
        "greedy on a batch: each row's own largest logit"],
    "**Top-$k$.**": ["top_k = 2 keeps the two largest", "a batch, V=7, T=1.0, top_k=3, top_p=None"],
    "Ties are broken by index": [
        "ties at the top-k boundary: the lower index wins",
        "top_k = 1 among equal logits keeps the lowest index",
        "top-p among equal probabilities, by index"],
    "A `top_k` of $V$ or more keeps every symbol": [
        "a batch, V=6, T=1.0, top_k=10, top_p=None", "a batch, V=5, T=4.0, top_k=5, top_p=None"],
    "**Top-$p$.**": [
        "top_p = 0.7 keeps the crossing symbol", "top-p keeps the symbol that crosses p",
        "top-p on the renormalised top-k distribution", "top-p on the tempered distribution"],
    "Equivalently: keep a symbol when": [
        "top-p keeps the symbol that crosses p", "top_p below the largest probability"],
    "`top_p = 1` keeps every symbol": [
        "a batch, V=9, T=1.0, top_k=None, top_p=1.0", "one finite logit"],
    "The graded inputs never put a cumulative sum": DESCRIBES,
    "Return a float64 array of the shape of `logits`": [
        "a batch, V=12, T=1.7, top_k=5, top_p=0.85", "one row (1-D logits)",
        "float32 logits give float64", "integer logits and an integer T"],
    "for: logits that are empty or not 1-D or 2-D": _T1_RAISES,
    "`rng` must be a `numpy.random.Generator`": [
        "draws only from the Generator passed in", "the same seed repeats",
        "another seed, other samples", "40000 draws at T = 0.5 (the visible example)"],
    "Raise `ValueError` (say \"rng\") otherwise": [
        "rejects a seed in place of a Generator", "rejects a RandomState",
        "rejects the seed 42 in place of a Generator"],
    "Every index is in `0..V-1`": [
        "-inf logits are never drawn", "top-p keeps the crossing symbol",
        "frequencies of 100000 draws, T=1.0, top_k=4, top_p=None",
        "top_k = 2 never draws symbols 2 or 3"],
    "raise as in task 1; a `size`": [
        "rejects a negative T", "rejects top_k = 0", "rejects top_p above 1", "rejects NaN logits",
        "rejects a negative size", "rejects a fractional size"],
    "Compute it stably": [
        "huge logits", "huge logits (the visible example)", "certain and right: perplexity 1"],
    "Entries may be `-inf`; NaN and `+inf` are invalid": [
        "a -inf logit", "probability 0 gives inf", "rejects NaN", "rejects +inf",
        "rejects a row without a finite entry", "rejects a batch with one row without a finite entry"],
    "for logits that are not 2-D or are empty": [
        "rejects 1-D logits", "rejects empty logits", "rejects targets of the wrong shape",
        "rejects targets out of range", "rejects negative targets", "rejects float targets",
        "rejects the target 3 of three symbols", "rejects one target for many rows",
        "rejects targets of shape (N, 1)"],
}
