"""Text that ships with the course, for character-level language models (chapter 11, ps08).

The corpus is the prose of the book's own chapters (``book/NN_*.md``), read when called:
front matter and code cells are removed, so the models learn English sentences with
Markdown and LaTeX in them, not Python. Paragraphs are split between a training and a
validation part by their position (every ``every``-th paragraph of a chapter is held out),
so the split is the same on every machine and changes only when the chapters do.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

BOOK = Path(__file__).resolve().parent.parent / "book"


def chapter_prose(path: Path) -> str:
    """A chapter's text without its front matter and its ``{code-cell}`` blocks."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"```\{code-cell\}.*?\n```[ \t]*\n?", "", text, flags=re.S)
    return text


def book_paragraphs(exclude: tuple[str, ...] = ()) -> list[list[str]]:
    """The paragraphs (runs of non-blank lines, single spaces) of every chapter, per chapter.

    ``exclude`` holds chapter stems to leave out (for instance the page that reads them).
    """
    chapters = []
    for path in sorted(BOOK.glob("[0-9][0-9]_*.md")):
        if path.stem in exclude:
            continue
        paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", chapter_prose(path))]
        chapters.append([p for p in paras if p])
    return chapters


def train_validation_text(every: int = 10, exclude: tuple[str, ...] = ()) -> tuple[str, str]:
    """(training text, validation text): paragraph ``i`` of a chapter is held out when
    ``i % every == every - 1``; paragraphs are joined with a newline."""
    if every < 2:
        raise ValueError(f"every must be at least 2; got {every}")
    train, val = [], []
    for paras in book_paragraphs(exclude):
        for i, p in enumerate(paras):
            (val if i % every == every - 1 else train).append(p)
    return "\n".join(train) + "\n", "\n".join(val) + "\n"


def encode(text: str, vocab: str) -> np.ndarray:
    """Character codes of ``text`` as indices into ``vocab`` (int64); unknown characters raise."""
    index = {ch: i for i, ch in enumerate(vocab)}
    missing = sorted(set(text) - set(index))
    if missing:
        raise ValueError(f"characters not in the vocabulary: {missing[:10]}")
    return np.fromiter((index[ch] for ch in text), dtype=np.int64, count=len(text))
