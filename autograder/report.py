"""Report: what an instructor wants to see after a grading run.

``reports/<assignment>/report.html`` with a score histogram and per-question pass rates
(``report.png``), the class analytics of every hidden check (the share of students who
pass it and the commonest failure messages, hardest first: the idea the class did not
get), the slowest submissions and every flagged one with its reasons. The analytics also
come as text (:func:`analytics_text`), which ``python -m autograder report`` prints.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .record import stored_results


@dataclass(frozen=True)
class CheckStats:
    """One hidden check (the ``position``-th probe of test cell ``cell``) across the class."""

    cell: str
    position: int
    hint: str
    judged: int                        # students whose run reached a verdict on it
    passed: int
    failures: tuple[tuple[str, int], ...]   # (message, students), commonest first

    @property
    def share(self) -> float:
        return self.passed / self.judged if self.judged else 0.0


def check_stats(rows: list[dict], top: int = 3) -> list[CheckStats]:
    """Per hidden check, from the stored payloads (``record.results``), hardest first.

    A check is keyed by its cell and its place among the cell's probes (the spec's order,
    the same for every student); a submission without probes for a cell (malformed, or a
    cell the notebook's own tests scored) does not count towards that check.
    """
    order: list[tuple[str, int]] = []
    hints: dict[tuple[str, int], str] = {}
    judged: Counter = Counter()
    passed: Counter = Counter()
    messages: dict[tuple[str, int], Counter] = {}
    for r in rows:
        for cell, c in r["payload"].get("cells", {}).items():
            for k, probe in enumerate(c.get("probes") or []):
                key = (cell, k)
                if key not in hints:
                    order.append(key)
                    hints[key] = probe.get("hint") or f"hidden check {k}"
                    messages[key] = Counter()
                judged[key] += 1
                if probe.get("ok"):
                    passed[key] += 1
                else:
                    messages[key][probe.get("message") or "(no message)"] += 1
    stats = [CheckStats(cell, k, hints[(cell, k)], judged[(cell, k)], passed[(cell, k)],
                        tuple(messages[(cell, k)].most_common(top))) for cell, k in order]
    rank = {key: i for i, key in enumerate(order)}
    return sorted(stats, key=lambda s: (s.share, rank[(s.cell, s.position)]))


def analytics_text(assignment: str, stats: list[CheckStats], students: int) -> str:
    """The analytics as plain text: one line per check that someone failed, hardest first,
    each followed by its commonest failures; the checks everyone passed are counted."""
    if not stats:
        return f"{assignment}: no hidden checks were judged ({students} submission(s))\n"
    lines = [f"{assignment}: hidden checks across {students} submission(s), hardest first",
             f"{'pass':>5}  {'n':>4}  check"]
    for s in stats:
        if s.passed == s.judged:
            continue
        lines.append(f"{s.share:5.0%}  {s.judged:4d}  {s.cell}: {s.hint}")
        lines += [f"{'':13}{n} x {msg}" for msg, n in s.failures]
    clean = sum(1 for s in stats if s.passed == s.judged)
    if clean:
        lines.append(f"{clean} of {len(stats)} check(s) passed by every judged submission")
    return "\n".join(lines) + "\n"


def _analytics_html(stats: list[CheckStats]) -> str:
    e = html.escape
    if not stats:
        return "<h2>Hidden checks</h2><p>No hidden checks were judged.</p>"
    body = "".join(
        f"<tr><td>{s.share:.0%}</td><td>{s.passed}/{s.judged}</td><td>{e(s.cell)}</td>"
        f"<td>{e(s.hint)}</td><td>"
        + "<br>".join(f"{n} &times; {e(msg)}" for msg, n in s.failures) + "</td></tr>"
        for s in stats)
    return ("<h2>Hidden checks, hardest first</h2><table border='1' cellpadding='4'>"
            "<tr><th>pass</th><th>students</th><th>cell</th><th>check</th>"
            "<th>commonest failures</th></tr>" + body + "</table>")


def write_report(assignment: str, url: str, course: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r.as_row() for r in stored_results(url, assignment)]
    outdir = Path(course) / "reports" / assignment
    outdir.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.hist([r["score"] for r in rows], bins=10, color="#4477aa")
    ax1.set_xlabel("score (manual grades included)")
    ax1.set_ylabel("students")
    ax1.set_title(f"{assignment}: scores (n = {len(rows)})")
    cells = [g for g, c in (rows[0]["payload"]["cells"].items() if rows else [])
             if c["score"] is not None]
    rates = []
    for g in cells:
        got = [r["payload"]["cells"].get(g, {}) for r in rows]
        rates.append(sum(1 for c in got if c.get("score") == c.get("max_score")) / len(rows))
    ax2.barh(cells, rates, color="#228833")
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("fraction of students with full points")
    ax2.set_ylabel("test cell")
    ax2.set_title("pass rate per question")
    fig.tight_layout()
    fig.savefig(outdir / "report.png", dpi=100)
    plt.close(fig)
    e = html.escape
    status = Counter(r["status"] for r in rows)
    slow = sorted(rows, key=lambda r: -r["seconds"])[:5]
    flagged = [r for r in rows if r["status"] != "ok"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(assignment)} report"
             "</title></head><body>", f"<h1>{e(assignment)}: grading report</h1>",
             "<p>" + ", ".join(f"{e(k)}: {n}" for k, n in sorted(status.items())) + "</p>",
             "<img src='report.png' alt='score histogram and pass rates'>",
             "<h2>Pass rates</h2><ul>" + "".join(f"<li>{e(g)}: {r:.0%}</li>"
                                                 for g, r in zip(cells, rates, strict=True))
             + "</ul>", _analytics_html(check_stats(rows)), "<h2>Slowest</h2><ul>"
             + "".join(f"<li>{e(r['student'])}: {r['seconds']:.1f} s</li>" for r in slow)
             + "</ul>", "<h2>Flagged</h2><ul>"]
    for r in flagged:
        reasons = "; ".join(r["payload"].get("reasons", []))
        parts.append(f"<li><b>{e(r['student'])}</b> ({e(r['status'])}, {r['score']:g}): "
                     f"{e(reasons)}</li>")
    parts.append("</ul></body></html>")
    (outdir / "report.html").write_text("\n".join(parts))
    return outdir / "report.html"
