"""Claims of chapters 1-3, the index and the notation table that code can check (issue 11)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from chapter_code import chapter_function

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.md"))
OWN_PAGES = [BOOK / "01_self_information.md", BOOK / "02_entropy.md",
             BOOK / "03_kl_divergence.md", BOOK / "index.md", BOOK / "notation.md"]


def _notation_symbols() -> list[str]:
    """The $...$ symbols of the first column of every row of the notation table."""
    symbols = []
    for line in (BOOK / "notation.md").read_text().splitlines():
        if not line.startswith("| $"):
            continue
        first = line.split("|")[1]
        symbols += [s.strip() for s in re.findall(r"\$([^$]+)\$", first)]
    return symbols


def _math(text: str) -> str:
    """The display and inline maths of a MyST page, code cells and inline code removed."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    display = re.findall(r"\$\$(.*?)\$\$", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    return "\n".join(display + re.findall(r"\$([^$\n]+)\$", text))


def _chapter_function(chapter: str, name: str):
    """The chapter's own function ``name`` (only its ``def`` runs)."""
    return chapter_function(BOOK / chapter, name, {"np": np})


# -- notation.md is the single source (C6) -------------------------------------------

def test_notation_defines_every_symbol_once():
    symbols = _notation_symbols()
    assert len(symbols) > 20
    duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
    assert not duplicates, f"notation.md defines these symbols in more than one row: {duplicates}"


@pytest.mark.parametrize("symbol", [r"K", r"C", r"M$, $B_1, \dots, B_M", r"[k = y]",
                                    r"\mathbf{e}_y", r"\ell_{\mathrm{CE}}",
                                    r"\ell_{\mathrm{MSE}}", r"\ell_{\mathrm{seed}}",
                                    r"\mathrm{KL}(p \,\Vert\, q)"])
def test_notation_lists_the_course_conventions(symbol):
    table = (BOOK / "notation.md").read_text()
    assert f"| ${symbol}$" in table, f"notation.md has no row for ${symbol}$"


def test_notation_reads_kl_as_divergence_of_q_from_p_and_keeps_k_for_outcomes():
    table = (BOOK / "notation.md").read_text()
    kl_row = next(r for r in table.splitlines() if r.startswith(r"| $\mathrm{KL}"))
    assert "divergence of $q$ from $p$" in kl_row
    k_row = next(r for r in table.splitlines() if r.startswith("| $K$ |"))
    assert "classes" not in k_row and "bins" not in k_row


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_use_one_name_per_loss(chapter):
    """No L_2(z) as the name of a loss (it reads like the L2 norm)."""
    maths = _math(chapter.read_text())
    assert not re.search(r"(?<![\\A-Za-z])L_\{?2\}?\s*\(", maths), (
        f"{chapter.name}: a loss is written L_2(...); use \\ell_{{\\mathrm{{MSE}}}} or "
        "\\ell_{\\mathrm{CE}} as in notation.md")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_write_the_one_hot_vector_bold(chapter):
    maths = _math(chapter.read_text())
    maths = re.sub(r"\\(?:mathbf|boldsymbol|bm)\s*\{?\s*e\s*\}?", "BOLD", maths)
    plain = re.findall(r"(?<![A-Za-z\\])e_(?:\{y\}|y\b|\d)", maths)
    assert not plain, (
        f"{chapter.name}: one-hot vector written plain ({plain}); write \\mathbf{{e}}_y")


# -- no machine- or build-specific sentences in chapters 1-3 and the index (E2) ------------

BUILD_SPECIFIC = ["static book", "pre-rendered", "when the page was built", "cannot be downloaded",
                  "seconds", "perf_counter"]


@pytest.mark.parametrize("page", OWN_PAGES, ids=lambda p: p.stem)
def test_no_build_specific_sentences(page):
    text = page.read_text()
    prose = re.sub(r"```.*?```", "", text, flags=re.S).lower()
    found = [w for w in BUILD_SPECIFIC if w in prose]
    assert not found, f"{page.name} has machine- or build-specific wording: {found}"
    assert "perf_counter" not in text


# -- the index's promises (B12, C5) ----------------------------------------------------

def test_index_path_lists_every_chapter_in_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [c["file"] for part in toc["parts"] for c in part["chapters"]
                if re.match(r"book/\d\d_", c["file"])]
    index = (BOOK / "index.md").read_text()
    numbers = [int(n) for n in re.findall(r"^(\d+)\. \*", index, flags=re.M)]
    assert numbers == list(range(1, len(chapters) + 1)), (
        f"index.md lists chapters {numbers}; _toc.yml has {len(chapters)}")


def test_index_names_the_exceptions_to_computed_numbers():
    index = (BOOK / "index.md").read_text()
    assert re.search(r"Chapters? 8\b", index) and "reported" in index  # REPORTED values (ch. 8)
    assert "Chapter 9" in index and "SHA-256" in index       # cached C runs keyed by source hash
    temperature = (BOOK / "08_temperature.md").read_text()
    assert "REPORTED" in temperature


def test_index_prerequisites_point_to_where_tools_are_taught():
    index = (BOOK / "index.md").read_text()
    for tool in ("Jensen", "Dirichlet", "softmax", "training loop"):
        assert tool in index
    entropy = (BOOK / "02_entropy.md").read_text()
    assert "**Jensen's inequality**" in entropy and "**Dirichlet distribution**" in entropy
    first_use = entropy.index("rng.dirichlet(np.ones(K)")
    assert entropy.index("**Dirichlet distribution**") < first_use
    # chapter 1 derives -log p from its own requirements instead of quoting Cauchy (A19)
    assert "monotonicity does the work" in (BOOK / "01_self_information.md").read_text()


# -- chapter 2: the entropy of a certain outcome is +0.0 (E3) --------------------------------

def test_entropy_of_a_certain_outcome_is_plus_zero():
    entropy_bits = _chapter_function("02_entropy.md", "entropy_bits")
    for p in ([1.0, 0.0, 0.0], [0.0, 1.0], [1.0]):
        h = entropy_bits(p)
        assert h == 0.0 and not np.signbit(h), f"entropy_bits({p}) = {h!r}"
        assert f"{h:.3f}" == "0.000"
    assert not np.any(np.signbit(entropy_bits(np.eye(5))))
    assert np.isclose(entropy_bits([0.5, 0.25, 0.25]), 1.5)


def test_jensen_bound_is_log_of_the_support():
    """A10: H(p) <= log2 |supp p| <= log2 K, strict at the first step for a sparse p."""
    entropy_bits = _chapter_function("02_entropy.md", "entropy_bits")
    p = np.array([0.5, 0.5, 0.0, 0.0])
    assert np.isclose(entropy_bits(p), np.log2(2)) and entropy_bits(p) < np.log2(4)


# -- chapter 3: the KL claims (A4, C8) ------------------------------------------------------

def test_kl_is_half_chi_squared_near_the_truth():
    kl = _chapter_function("03_kl_divergence.md", "kl")
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.5])
    v = np.array([1.0, -0.5, 0.25, -0.25, 0.0, -0.5])
    for t in (1e-3, 1e-4):
        q = p + t * v
        half_chi2 = 0.5 * np.sum((q - p) ** 2 / p)
        assert abs(kl(p, q) / half_chi2 - 1) < 20 * t
        assert abs(kl(q, p) / half_chi2 - 1) < 20 * t


def test_smoothing_the_target_does_not_cure_a_zero_in_the_model():
    kl = _chapter_function("03_kl_divergence.md", "kl")
    q = np.array([0.5, 0.5, 0.0])
    one_hot = np.array([1.0, 0.0, 0.0])
    smoothed = 0.9 * one_hot + 0.1 / 3
    assert np.isfinite(kl(one_hot, q)) and np.isinf(kl(smoothed, q))
    assert np.isfinite(kl(one_hot, 0.99 * q + 0.01 / 3))     # mixing into the model does


def test_ch3_no_longer_claims_softmax_is_never_zero():
    text = (BOOK / "03_kl_divergence.md").read_text()
    assert "never exactly 0" not in text
    first = text.index("softmax")
    assert "chapter 4 introduces" in text[first - 200:first + 200]
