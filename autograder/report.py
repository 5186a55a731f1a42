"""Report: what an instructor wants to see after a grading run.

``reports/<assignment>/report.html`` with a score histogram and per-question pass rates
(``report.png``), the slowest submissions and every flagged one with its reasons.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from .record import results


def write_report(assignment: str, url: str, course: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results(url, assignment)
    outdir = Path(course) / "reports" / assignment
    outdir.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.hist([r["score"] for r in rows], bins=10, color="#4477aa")
    ax1.set_xlabel("autograded score")
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
             + "</ul>", "<h2>Slowest</h2><ul>"
             + "".join(f"<li>{e(r['student'])}: {r['seconds']:.1f} s</li>" for r in slow)
             + "</ul>", "<h2>Flagged</h2><ul>"]
    for r in flagged:
        reasons = "; ".join(r["payload"].get("reasons", []))
        parts.append(f"<li><b>{e(r['student'])}</b> ({e(r['status'])}, {r['score']:g}): "
                     f"{e(reasons)}</li>")
    parts.append("</ul></body></html>")
    (outdir / "report.html").write_text("\n".join(parts))
    return outdir / "report.html"
