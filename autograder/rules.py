"""Rules on how code is written ("Do not call SciPy or PyTorch"), enforced on the source.

A problem set declares its rules next to its probes (``RULES`` in judge.py, see
:class:`autograder.spec.Rule`). :func:`broken_rules` reads the code a notebook ran: the
module bindings made anywhere (``import scipy.special as sp``, ``from torch import nn``, a
plain alias ``sp = scipy.special``), the functions the submission defines, and, for each
function a rule names, every module it reaches, directly or through the submission's own
helper functions. The same function decides in the judge (on the prepared chunks, outside
the sandbox) and in stock nbgrader's generated hidden block (on the kernel's input
history), so both give the same verdict.

It is a static check: code that builds a module name at run time (``getattr`` on
``globals()``, ``__import__`` of a computed string) is not followed; the static scan flags
the usual tricks of that kind for a human.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from .spec import Rule

_IMPORTERS = {"__import__", "import_module"}


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _bindings(trees: Iterable[ast.AST]) -> dict[str, str]:
    """name -> dotted module path it stands for (imports and simple aliases)."""
    out: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        out[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        out[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
    for tree in trees:  # aliases of imported names, one level: sp = scipy.special
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                path = _dotted(node.value)
                if path and path[0] in out:
                    out[node.targets[0].id] = ".".join([out[path[0]], *path[1:]])
    return out


def _functions(trees: Iterable[ast.AST]) -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found[node.name] = node   # the last definition wins, as when it runs
    return found


def _reached(name: str, functions: dict[str, ast.AST], bindings: dict[str, str]) -> set[str]:
    """Every module path the function ``name`` uses, following the submission's helpers."""
    seen: set[str] = set()
    paths: set[str] = set()
    todo = [name]
    while todo:
        fn = todo.pop()
        if fn in seen or fn not in functions:
            continue
        seen.add(fn)
        local = _bindings([functions[fn]])
        for node in ast.walk(functions[fn]):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                paths |= {p for n, p in local.items()}
            elif isinstance(node, (ast.Name, ast.Attribute)):
                dotted = _dotted(node)
                if dotted is None:
                    continue
                root = dotted[0]
                base = local.get(root) or bindings.get(root)
                if base:
                    paths.add(".".join([base, *dotted[1:]]))
                if root in functions:
                    todo.append(root)
            elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                callee = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if callee in _IMPORTERS and node.args and isinstance(node.args[0], ast.Constant) \
                        and isinstance(node.args[0].value, str):
                    paths.add(node.args[0].value)
    return paths


def _matches(path: str, module: str) -> bool:
    return path == module or path.startswith(module + ".")


def broken_rules(rules: Iterable[Rule], sources: Iterable[str]) -> dict[Rule, str]:
    """The rules the code breaks, each with what was found ('softmax uses scipy.special')."""
    trees = [t for t in (_parse(s) for s in sources) if t is not None]
    bindings = _bindings(trees)
    functions = _functions(trees)
    out: dict[Rule, str] = {}
    for rule in rules:
        found = []
        for fn in rule.functions:
            hits = {p for p in _reached(fn, functions, bindings)
                    if any(_matches(p, m) for m in rule.modules)}
            # scipy.special.softmax, not also its prefixes scipy and scipy.special
            used = sorted(p for p in hits if not any(q != p and _matches(q, p) for q in hits))
            if used:
                found.append(f"{fn} uses {', '.join(used[:3])}")
        if found:
            out[rule] = "; ".join(found)
    return out
