"""Feedback: one HTML page per student and assignment, safe to hand out.

It shows each visible test (its source as released), what it printed and whether it
passed; for the hidden checks only the judge's short hint, pass/fail and a generic
message. Hidden test source, tracebacks of hidden tests and hidden inputs never reach
the page, because they never reach the stored results it is made from.
"""

from __future__ import annotations

import html
from pathlib import Path

from .markers import release_view
from .record import results

CSS = """body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}.ok{color:#116611}.bad{color:#aa1111}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"""


def render(assignment: str, row: dict) -> str:
    p = row["payload"]
    e = html.escape
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(assignment)}: "
           f"{e(row['student'])}</title><style>{CSS}</style></head><body>",
           f"<h1>{e(assignment)}: feedback for {e(row['student'])}</h1>",
           f"<p>Autograded score: <b>{row['score']:g}</b> of {row['max_score']:g} "
           f"(status: {e(row['status'])}). Cells graded by hand are scored later.</p>"]
    for gid, cell in p.get("cells", {}).items():
        out.append(f"<h2>{e(gid)}</h2>")
        if cell["score"] is None:
            out.append(f"<p>Graded by hand ({cell['max_score']:g} points).</p>")
            continue
        cls = "ok" if cell["score"] == cell["max_score"] else "bad"
        out.append(f"<p class='{cls}'>{cell['score']:g} / {cell['max_score']:g} points</p>")
        vis = p.get("visible", {}).get(gid)
        if vis:
            state = {True: "passed", False: "failed", None: "did not finish"}[vis["ok"]]
            out.append(f"<p>Visible tests ({state}):</p>"
                       f"<pre>{e(release_view(vis['source']))}</pre>")
            if vis.get("output"):
                out.append(f"<p>Output:</p><pre>{e(vis['output'])}</pre>")
        if cell.get("probes"):
            out.append("<table><tr><th>hidden check</th><th>result</th></tr>")
            for pr in cell["probes"]:
                mark = "<span class='ok'>pass</span>" if pr["ok"] else \
                    f"<span class='bad'>fail</span>: {e(pr['message'])}"
                out.append(f"<tr><td>{e(pr['hint'])}</td><td>{mark}</td></tr>")
            out.append("</table>")
    notes = [r for r in p.get("reasons", []) if not r.startswith(("static scan", "judge and"))]
    if notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def write_feedback(assignment: str, url: str, course: Path) -> list[Path]:
    """feedback/<student>/<assignment>/<assignment>.html for every graded student."""
    written = []
    for row in results(url, assignment):
        path = Path(course) / "feedback" / row["student"] / assignment / f"{assignment}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(assignment, row))
        written.append(path)
    return written
