"""Mutants of an answer cell: one small, plausible student mistake per mutant.

An AST mutator of our own (the mutation libraries on PyPI, mutmut, cosmic-ray and mutatest,
mutate files on disk and drive a test runner; here the unit is a notebook cell and the
"test runner" is the grader). Only code between ``### BEGIN SOLUTION`` and ``### END
SOLUTION`` is mutated (the whole source when it has no markers). Each mutant changes the
source *text* of one site, so comments, markers and the rest of the cell stay as they were
and the diff shows exactly the mistake; every result is parsed again and checked to be the
intended tree.

A mutant's id is ``<cell>.<operator>.<k>``: the k-th mutant (from 0, in source order) that
``operator`` makes in that cell. It is stable as long as the cell's answer code is.
"""

from __future__ import annotations

import ast
import copy
import difflib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .markers import BEGIN_SOLUTION, END_SOLUTION

OPERATORS: dict[str, str] = {
    "arith": "an arithmetic operator swapped (+ -, * /, ** *, // /)",
    "compare": "a comparison changed (< <=, > >=, == !=, is / is not, in / not in)",
    "logic": "a logical operator changed (and or, & |) or a negation (not, ~) dropped",
    "constant": "a number changed (n -> n + 1) or a boolean flipped",
    "tolerance": "a small tolerance made 100 times looser or 100 times tighter",
    "axis": "an axis= changed or dropped",
    "keepdims": "keepdims=True dropped",
    "sign": "a unary minus dropped",
    "maxmin": "max and min swapped (max, maximum, amax, argmax, nanmax, fmax)",
    "stabilisation": "a stabilisation removed (x - max(x), np.errstate, np.clip, a clamp)",
    "log1p": "log1p(x) -> log(1 + x), expm1(x) -> exp(x) - 1",
    "where": "np.where(c, a, b) -> a (the guard dropped) or -> c * a + ~c * b (mask arithmetic)",
    "mask": "a boolean mask x[c] dropped",
    "validation": "a validation dropped (an `if ...: raise` or an assert)",
    "mean-sum": "mean and sum swapped (np.mean, .mean(), reduction='mean')",
    "loop-order": "two adjacent statements of a loop body swapped (a call among them)",
}
"""Every operator, in the order the selection takes them, and what it does."""

_ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
          ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
            ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
            ast.In: ast.NotIn, ast.NotIn: ast.In}
_SWAP_MAXMIN = {}
for _a, _b in (("max", "min"), ("maximum", "minimum"), ("amax", "amin"),
               ("argmax", "argmin"), ("nanmax", "nanmin"), ("fmax", "fmin")):
    _SWAP_MAXMIN[_a], _SWAP_MAXMIN[_b] = _b, _a
_MEAN_SUM = {"mean": "sum", "sum": "mean", "nanmean": "nansum", "nansum": "nanmean",
             "average": "sum"}
_MAXES = {"max", "amax", "nanmax", "logsumexp"}
_TOLERANCE = 1e-3   # |x| below this (and above 0) is a tolerance, not a constant


@dataclass(frozen=True)
class Mutant:
    """One mutated answer cell."""

    cell: str          # grade_id of the answer cell
    operator: str      # a key of OPERATORS
    index: int         # k-th mutant of this operator in this cell
    line: int          # line of the cell (from 1) where the change starts
    description: str   # what changed, in a few words
    source: str        # the whole mutated cell
    diff: str          # unified diff against the original cell

    @property
    def id(self) -> str:
        return f"{self.cell}.{self.operator}.{self.index}"


@dataclass(frozen=True)
class _Edit:
    """A text change: replace lines[start_line..end_line] columns as given, or whole lines."""

    operator: str
    start: tuple[int, int]    # (line from 1, character column)
    end: tuple[int, int]
    text: str
    description: str
    expected: ast.AST | None = None   # the tree the edit must produce (expression edits)


def solution_lines(source: str) -> set[int]:
    """Line numbers (from 1) between solution markers; every line when there are none."""
    lines = source.split("\n")
    if not any(BEGIN_SOLUTION in line for line in lines):
        return set(range(1, len(lines) + 1))
    inside, keep = False, set()
    for n, line in enumerate(lines, 1):
        if BEGIN_SOLUTION in line:
            inside = True
        elif END_SOLUTION in line:
            inside = False
        elif inside:
            keep.add(n)
    return keep


def _char_col(lines: list[str], lineno: int, byte_col: int) -> int:
    """ast columns are UTF-8 byte offsets; text edits need character offsets."""
    return len(lines[lineno - 1].encode()[:byte_col].decode(errors="replace"))


def _span(lines: list[str], node: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
    return ((node.lineno, _char_col(lines, node.lineno, node.col_offset)),
            (node.end_lineno, _char_col(lines, node.end_lineno, node.end_col_offset)))


def _splice(lines: list[str], start: tuple[int, int], end: tuple[int, int], text: str) -> str:
    (l0, c0), (l1, c1) = start, end
    head = "\n".join(lines[:l0 - 1] + [lines[l0 - 1][:c0]])
    tail = "\n".join([lines[l1 - 1][c1:]] + lines[l1:])
    return head + text + tail


def _func_name(call: ast.AST) -> str | None:
    """``np.mean`` / ``x.mean`` / ``mean`` -> ``mean``."""
    if not isinstance(call, ast.Call):
        return None
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _renamed(call: ast.Call, name: str) -> ast.Call:
    new = copy.deepcopy(call)
    if isinstance(new.func, ast.Attribute):
        new.func.attr = name
    else:
        new.func.id = name
    return new


def _is_number(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


class _Sites:
    """The nodes of a cell's answer code that operators may change, in source order."""

    def __init__(self, tree: ast.Module, allowed: set[int]):
        skip: set[int] = set()
        for node in ast.walk(tree):
            # error messages and docstrings are not where graded mistakes live
            if isinstance(node, ast.Raise) or isinstance(node, ast.JoinedStr):
                skip.update(id(n) for n in ast.walk(node))
            if isinstance(node, ast.Assert) and node.msg is not None:
                skip.update(id(n) for n in ast.walk(node.msg))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(
                        getattr(body[0], "value", None), ast.Constant):
                    skip.add(id(body[0].value))
            if isinstance(node, ast.keyword) and node.arg in ("axis", "keepdims", "reduction"):
                skip.update(id(n) for n in ast.walk(node.value))
        self.nodes = sorted(
            (n for n in ast.walk(tree) if hasattr(n, "lineno") and id(n) not in skip
             and n.lineno in allowed and n.end_lineno in allowed),
            key=lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset,
                           type(n).__name__))
        self.max_names = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
                          and _func_name(n.value) in _MAXES
                          for t in n.targets if isinstance(t, ast.Name)}


def _expr_edits(sites: _Sites, lines: list[str]) -> Iterator[_Edit]:
    """Edits that replace one expression by another."""
    for node in sites.nodes:
        start, end = _span(lines, node)
        for operator, new, what in _expression_mutations(node, sites):
            yield _Edit(operator, start, end, ast.unparse(new), what, (node, new))


def _expression_mutations(node: ast.AST, sites: _Sites) -> Iterator[tuple[str, ast.AST, str]]:
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        formatting = isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant)
        if not formatting:
            new = copy.deepcopy(node)
            new.op = _ARITH[type(node.op)]()
            yield "arith", new, "arithmetic operator"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        new = copy.deepcopy(node)
        new.op = ast.BitOr() if isinstance(node.op, ast.BitAnd) else ast.BitAnd()
        yield "logic", new, "& / |"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and (
            _func_name(node.right) in _MAXES
            or (isinstance(node.right, ast.Name) and node.right.id in sites.max_names)):
        yield "stabilisation", copy.deepcopy(node.left), "the max subtraction removed"
    if isinstance(node, ast.Compare):
        for k, op in enumerate(node.ops):
            if type(op) in _COMPARE:
                new = copy.deepcopy(node)
                new.ops[k] = _COMPARE[type(op)]()
                yield "compare", new, "comparison"
    if isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "logic", new, "and / or"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
        yield "logic", copy.deepcopy(node.operand), "negation dropped"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign", copy.deepcopy(node.operand), "minus sign dropped"
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield "constant", ast.Constant(not node.value), "boolean flipped"
    elif _is_number(node):
        if isinstance(node.value, float) and 0 < abs(node.value) < _TOLERANCE:
            for factor, what in ((100, "looser"), (0.01, "tighter")):
                value = float(f"{node.value * factor:.6g}")
                yield "tolerance", ast.Constant(value), f"tolerance 100 times {what}"
        else:
            yield "constant", ast.Constant(node.value + 1), "number + 1"
    if isinstance(node, ast.Call):
        yield from _call_mutations(node)
    if isinstance(node, ast.Subscript) and _is_mask(node.slice):
        yield "mask", copy.deepcopy(node.value), "boolean mask dropped"


def _is_mask(index: ast.AST) -> bool:
    if isinstance(index, (ast.Compare, ast.BoolOp)):
        return True
    if isinstance(index, ast.BinOp) and isinstance(index.op, (ast.BitAnd, ast.BitOr)):
        return True
    return isinstance(index, ast.UnaryOp) and isinstance(index.op, (ast.Invert, ast.Not))


def _call_mutations(node: ast.Call) -> Iterator[tuple[str, ast.AST, str]]:
    name = _func_name(node)
    for k, kw in enumerate(node.keywords):
        if kw.arg == "axis" and isinstance(kw.value, (ast.Constant, ast.UnaryOp)):
            try:
                value = ast.literal_eval(kw.value)
            except ValueError:
                value = None
            if isinstance(value, int):
                new = copy.deepcopy(node)
                new.keywords[k].value = ast.Constant(-1 if value == 0 else 0)
                yield "axis", new, "axis changed"
            new = copy.deepcopy(node)
            del new.keywords[k]
            yield "axis", new, "axis dropped"
        if kw.arg == "keepdims" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
            new = copy.deepcopy(node)
            del new.keywords[k]
            yield "keepdims", new, "keepdims dropped"
        if kw.arg == "reduction" and isinstance(kw.value, ast.Constant) and \
                kw.value.value in ("mean", "sum"):
            new = copy.deepcopy(node)
            new.keywords[k].value = ast.Constant("sum" if kw.value.value == "mean" else "mean")
            yield "mean-sum", new, "reduction changed"
    if name in _SWAP_MAXMIN:
        yield "maxmin", _renamed(node, _SWAP_MAXMIN[name]), f"{name} -> {_SWAP_MAXMIN[name]}"
    if name in _MEAN_SUM:
        yield "mean-sum", _renamed(node, _MEAN_SUM[name]), f"{name} -> {_MEAN_SUM[name]}"
    if name == "clip" and node.args:
        yield "stabilisation", copy.deepcopy(node.args[0]), "clip removed"
    if name in ("maximum", "minimum") and len(node.args) == 2:
        consts = [_is_number(a) or (isinstance(a, ast.UnaryOp) and _is_number(a.operand))
                  for a in node.args]
        if consts.count(True) == 1:
            keep = node.args[consts.index(False)]
            yield "stabilisation", copy.deepcopy(keep), f"{name} clamp removed"
    if name in ("log1p", "expm1") and len(node.args) == 1 and not node.keywords:
        outer = _renamed(node, "log" if name == "log1p" else "exp")
        if name == "log1p":
            outer.args = [ast.BinOp(ast.Constant(1), ast.Add(), copy.deepcopy(node.args[0]))]
            yield "log1p", outer, "log1p(x) -> log(1 + x)"
        else:
            yield "log1p", ast.BinOp(outer, ast.Sub(), ast.Constant(1)), "expm1(x) -> exp(x) - 1"
    if name == "where" and len(node.args) == 3 and not node.keywords:
        cond, a, b = (copy.deepcopy(x) for x in node.args)
        yield "where", a, "np.where guard dropped"
        masked = ast.BinOp(ast.BinOp(cond, ast.Mult(), a), ast.Add(),
                           ast.BinOp(ast.UnaryOp(ast.Invert(), copy.deepcopy(cond)), ast.Mult(), b))
        yield "where", masked, "np.where -> mask arithmetic"


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _statement_edits(tree: ast.Module, lines: list[str], allowed: set[int]) -> Iterator[_Edit]:
    """Edits of whole statements: dropped validation and errstate, swapped loop steps."""
    def inside(node: ast.AST) -> bool:
        return node.lineno in allowed and node.end_lineno in allowed

    def whole(node: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
        return (node.lineno, 0), (node.end_lineno, len(lines[node.end_lineno - 1]))

    stmts = sorted((n for n in ast.walk(tree) if isinstance(n, ast.stmt) and inside(n)),
                   key=lambda n: (n.lineno, n.col_offset))
    for node in stmts:
        pad = _indent(lines[node.lineno - 1])
        if isinstance(node, ast.If) and not node.orelse and any(
                isinstance(s, ast.Raise) for s in node.body):
            start, end = whole(node)
            yield _Edit("validation", start, end, pad + "pass", "`if ...: raise` dropped")
        if isinstance(node, ast.Assert):
            start, end = whole(node)
            yield _Edit("validation", start, end, pad + "pass", "assert dropped")
        if isinstance(node, ast.With) and len(node.items) == 1 and \
                _func_name(node.items[0].context_expr) == "errstate":
            first, last = node.body[0].lineno, node.body[-1].end_lineno
            inner = _indent(lines[first - 1])
            body = [pad + line[len(inner):] if line.startswith(inner) else line
                    for line in lines[first - 1:last]]
            start, end = whole(node)
            yield _Edit("stabilisation", start, end, "\n".join(body), "np.errstate removed")
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
            for a, b in zip(node.body, node.body[1:], strict=False):
                calls = [isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) for s in (a, b)]
                if not any(calls) or not (inside(a) and inside(b)):
                    continue
                text_a = "\n".join(lines[a.lineno - 1:a.end_lineno])
                text_b = "\n".join(lines[b.lineno - 1:b.end_lineno])
                between = lines[a.end_lineno:b.lineno - 1]
                swapped = "\n".join([text_b, *between, text_a])
                end = (b.end_lineno, len(lines[b.end_lineno - 1]))
                yield _Edit("loop-order", (a.lineno, 0), end, swapped,
                            f"line {a.lineno} and line {b.lineno} swapped")


def _replace(tree: ast.AST, target: ast.AST, new: ast.AST) -> ast.AST:
    """A copy of ``tree`` with the node ``target`` replaced by ``new``."""
    class Swap(ast.NodeTransformer):
        def visit(self, node):
            if node is target:
                return new
            return super().visit(node)

    return Swap().visit(copy.deepcopy(tree, {id(target): target}))


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=False)


def _apply(source: str, lines: list[str], tree: ast.Module, edit: _Edit) -> str | None:
    """The mutated source, or None when the text change does not give the intended tree."""
    texts = [edit.text] if edit.expected is None else [edit.text, f"({edit.text})"]
    want = None if edit.expected is None else _dump(_replace(tree, *edit.expected))
    for text in texts:
        out = _splice(lines, edit.start, edit.end, text)
        try:
            got = _dump(ast.parse(out))
        except SyntaxError:
            continue
        if (want is None and got != _dump(tree)) or got == want:
            return out
    return None


def mutants_of(source: str, cell: str) -> list[Mutant]:
    """Every mutant of one answer cell, in a stable order (see the module docstring)."""
    tree = ast.parse(source)
    lines = source.split("\n")
    allowed = solution_lines(source)
    edits = list(_expr_edits(_Sites(tree, allowed), lines))
    edits += list(_statement_edits(tree, lines, allowed))
    edits.sort(key=lambda e: (list(OPERATORS).index(e.operator), e.start, e.end))
    counts: dict[str, int] = {}
    seen = {source}
    out = []
    for edit in edits:
        mutated = _apply(source, lines, tree, edit)
        if mutated is None or mutated in seen:
            continue
        seen.add(mutated)
        k = counts.get(edit.operator, 0)
        counts[edit.operator] = k + 1
        old = "\n".join(lines[edit.start[0] - 1:edit.end[0]]).strip()
        what = f"{edit.description}: {_short(old)} -> {_short(_changed_lines(mutated, edit))}"
        diff = "".join(difflib.unified_diff(
            [line + "\n" for line in lines], [line + "\n" for line in mutated.split("\n")],
            f"{cell} (solution)", f"{cell} (mutant {cell}.{edit.operator}.{k})", n=1))
        out.append(Mutant(cell, edit.operator, k, edit.start[0], what, mutated, diff))
    return out


def _changed_lines(mutated: str, edit: _Edit) -> str:
    new_lines = mutated.split("\n")
    grow = edit.text.count("\n") - (edit.end[0] - edit.start[0])
    return "\n".join(new_lines[edit.start[0] - 1:edit.end[0] + grow]).strip()


def _short(text: str, width: int = 70) -> str:
    one = re.sub(r"\s+", " ", text)
    return one if len(one) <= width else one[:width - 3] + "..."


def select(mutants: list[Mutant], max_per_cell: int | None) -> list[Mutant]:
    """A deterministic subset: at most ``max_per_cell`` per cell, the operators taken in
    turn (so every operator a cell has is represented before any gets a second), each
    operator's mutants in an order fixed by a hash of their ids (spread over the cell)."""
    if max_per_cell is None:
        return list(mutants)
    chosen: list[Mutant] = []
    cells = list(dict.fromkeys(m.cell for m in mutants))
    for cell in cells:
        queues = [sorted((m for m in mutants if m.cell == cell and m.operator == op),
                         key=lambda m: hashlib.sha1(m.id.encode()).hexdigest())
                  for op in OPERATORS]
        picked: list[Mutant] = []
        while len(picked) < max_per_cell and any(queues):
            for q in queues:
                if q and len(picked) < max_per_cell:
                    picked.append(q.pop(0))
        order = {m.id: i for i, m in enumerate(mutants)}
        chosen += sorted(picked, key=lambda m: order[m.id])
    return chosen


