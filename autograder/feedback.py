"""Feedback: one HTML page per student and assignment, safe to hand out.

It shows each visible test (its source as released), whether it passed, the error it
raised (the assertion message first), and what it printed, as plain text (no terminal
colour codes) with paths relative to the course instead of the grading machine's; for
the hidden checks only the judge's short hint, pass/fail and a generic message. Hidden
test source, tracebacks of hidden tests and hidden inputs never reach the page, because
they never reach the stored results it is made from.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

from . import ROOT
from .collect import safe_name
from .markers import release_view
from .record import stored_results
from .sandbox import HOME

# CSI sequences (colours, cursor moves), other two-byte escapes and stray control bytes
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]")

CSS = """body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}.ok{color:#116611}.bad{color:#aa1111}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"""


def _machine_paths() -> list[str]:
    """Folder prefixes of the grading machine, longest first: library folders (a path in
    them is shown from the package on: ``numpy/...``), the course checkout (shown relative
    to it: ``infoloss/testing.py``) and the sandbox's home folder."""
    libs = {f"{prefix}/lib/python{sys.version_info.major}.{sys.version_info.minor}/{sub}"
            for prefix in (sys.prefix, sys.base_prefix) for sub in ("site-packages/", "")}
    return sorted(libs | {f"{ROOT}/", f"{HOME}/"}, key=len, reverse=True)


def plain(text: str) -> str:
    """Printed output as a student can read it: no terminal escape codes, and no absolute
    paths of the grading machine (paths relative to the course instead)."""
    text = _ANSI.sub("", text)
    for prefix in _machine_paths():
        text = text.replace(prefix, "")
    return text


def render(assignment: str, row: dict) -> str:
    p = row["payload"]
    e = html.escape
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(assignment)}: "
           f"{e(row['student'])}</title><style>{CSS}</style></head><body>",
           f"<h1>{e(assignment)}: feedback for {e(row['student'])}</h1>",
           f"<p>Score: <b>{row['score']:g}</b> of {row['max_score']:g} "
           f"(status: {e(row['status'])}). Cells graded by hand count once they are graded.</p>"]
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
            if vis["ok"] is False and vis.get("error"):  # the assertion message first
                out.append(f"<p class='bad'>{e(plain(vis['error']))}</p>")
            if vis.get("output"):
                out.append(f"<p>Output:</p><pre>{e(plain(vis['output']))}</pre>")
        if cell.get("probes"):
            out.append("<table><tr><th>hidden check</th><th>result</th></tr>")
            for pr in cell["probes"]:
                mark = "<span class='ok'>pass</span>" if pr["ok"] else \
                    f"<span class='bad'>fail</span>: {e(pr['message'])}"
                out.append(f"<tr><td>{e(pr['hint'])}</td><td>{mark}</td></tr>")
            out.append("</table>")
    notes = p.get("student_notes", [])   # chosen by the judge, not by their wording
    if notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def write_feedback(assignment: str, url: str, course: Path) -> list[Path]:
    """feedback/<student>/<assignment>/<assignment>.html for every graded student (the
    student folder named by :func:`collect.safe_name`: the id itself when it is a plain name)."""
    written = []
    for row in (r.as_row() for r in stored_results(url, assignment)):
        path = (Path(course) / "feedback" / safe_name(row["student"]) / assignment
                / f"{assignment}.html")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(assignment, row))
        written.append(path)
    return written
