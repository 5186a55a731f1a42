"""Static scan: known tricks in a submission, flagged for a human to look at.

The judge does not need the scan to be right (it never trusts the notebook), but a
submission that tries one of these deserves a look even when it gained nothing.
"""

from __future__ import annotations

import ast
import re

import nbformat

PATTERNS = [
    (r"input_transformers?_(cleanup|post)|input_transformer_manager", "input transformer"),
    (r"ast_transformers", "AST transformer"),
    (r"\bos\s*\.\s*_exit\b", "os._exit"),
    (r"\bsubprocess\b|\bos\s*\.\s*(system|popen|fork|exec\w*|spawn\w*|setsid)\b|\bpty\b",
     "subprocess or fork"),
    (r"\bsqlite3?\b|gradebook", "database access"),
    (r"\bctypes\b|\bsys\s*\.\s*settrace\b|\bsys\s*\.\s*setprofile\b", "interpreter hook"),
    (r"\bsignal\s*\.\s*signal\b", "signal handler"),
    (r"\bevents\s*\.\s*register\b|register_magic", "IPython hook"),
    (r"\b__eq__\b|\b__bool__\b", "overrides equality or truth"),
    (r"\bsys\s*\.\s*modules\b|\bbuiltins\b|__builtins__", "modules or builtins patched"),
    (r"BEGIN HIDDEN|solutions/|\bsource/", "looks for instructor files"),
]
GUARDED_MODULES = {"np", "numpy", "torch", "scipy", "math", "builtins", "infoloss", "sklearn",
                   "IPython", "nbgrader", "testing"}
SKIP_TAGS = {"skip-execution", "raises-exception", "skip", "remove-cell"}


def _attribute_base(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def scan_source(source: str, guarded_names: set[str]) -> list[str]:
    found = [why for pattern, why in PATTERNS if re.search(pattern, source)]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("setattr", "delattr") and node.args:
            base = _attribute_base(node.args[0]) if not isinstance(node.args[0], ast.Name) \
                else node.args[0].id
            if base in GUARDED_MODULES:
                found.append(f"{node.func.id} on module {base}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.name in guarded_names:
            found.append(f"redefines {node.name}, which the tests use")
        for t in targets:
            if isinstance(t, ast.Attribute) and _attribute_base(t) in GUARDED_MODULES:
                found.append(f"assigns to {ast.unparse(t)}")
            elif isinstance(t, ast.Name) and t.id in guarded_names:
                found.append(f"rebinds {t.id}, which the tests use")
    return found


def scan(student_nb: nbformat.NotebookNode, guarded_names: set[str] | None = None,
         locked: list[bool] | None = None) -> list[str]:
    """Reasons to review the submission by hand (empty: nothing known was found).

    ``locked[i]``: student cell ``i`` stands for a locked instructor cell (replaced by the
    original when grading), so only its tags are looked at.
    """
    guarded = guarded_names or set()
    reasons: list[str] = []
    for i, cell in enumerate(student_nb.cells):
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & SKIP_TAGS:
            reasons.append(f"cell {i}: tag {sorted(tags & SKIP_TAGS)[0]}")
        if cell.get("cell_type") == "code" and not (locked and locked[i]):
            for why in scan_source(cell.source, guarded):
                reasons.append(f"cell {i}: {why}")
    return list(dict.fromkeys(reasons))


def names_used_by_tests(setup_sources: list[str]) -> set[str]:
    """Names imported or defined by the instructor's locked cells (the tests rely on them)."""
    names: set[str] = set()
    for src in setup_sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names
