"""Reading a MyST chapter's code in tests: its code cells and the functions they define.

One place for the code-cell grammar (a ```{code-cell} fence, an optional ``---`` YAML options
block or a ``:tags:`` line), so that the book tests and the claim tests read chapters alike.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)\n```", flags=re.S)


def code_cells(text: str) -> list[tuple[str, str]]:
    """(YAML options block, body) of every code cell; a ``:tags:`` line stays in the body."""
    cells = []
    for block in CODE_CELL.findall(text):
        opts = ""
        if block.startswith("---\n"):
            opts, _, block = block[4:].partition("\n---\n")
        cells.append((opts, block))
    return cells


def code_bodies(text: str) -> list[str]:
    """The Python source of every code cell, without its options block or ``:tags:`` lines."""
    return ["\n".join(line for line in body.splitlines() if not line.startswith(":tags:"))
            for _, body in code_cells(text)]


def _top_level_defs(chapter: Path) -> list[list[ast.FunctionDef]]:
    """The undecorated top-level ``def`` statements of each code cell, cell by cell."""
    cells = []
    for body in code_bodies(chapter.read_text()):
        tree = ast.parse(body)
        cells.append([node for node in tree.body
                      if isinstance(node, ast.FunctionDef) and not node.decorator_list])
    return cells


def chapter_functions(chapter: Path, namespace: dict | None = None) -> dict:
    """Every top-level function of the chapter, defined (nothing else runs) in ``namespace``."""
    namespace = dict(namespace or {})
    for defs in _top_level_defs(chapter):
        if defs:
            exec(compile(ast.Module(body=defs, type_ignores=[]), str(chapter), "exec"), namespace)
    return namespace


def chapter_function(chapter: Path, name: str, namespace: dict | None = None):
    """The chapter's function ``name`` alone, defined in a fresh copy of ``namespace``."""
    for defs in _top_level_defs(chapter):
        for node in defs:
            if node.name == name:
                scope = dict(namespace or {})
                exec(compile(ast.Module(body=[node], type_ignores=[]), f"{chapter}:{name}",
                             "exec"), scope)
                return scope[name]
    raise AssertionError(f"{chapter.name} defines no function {name}")
