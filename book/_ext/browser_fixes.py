"""Sphinx extension: fixes for what the browser tests (tests/test_browser.py) found.

Loaded through ``sphinx: local_extensions`` in ``_config.yml``. Each fix is for a console
error or a failed request that a reader of the static HTML would otherwise get:

1. sphinx-thebe 0.3 adds its configuration script once per read pass; under Sphinx 7 the
   page ends up with ``const THEBE_JS_URL = ...`` twice, a SyntaxError on every page. The
   book has no thebe launch button (``launch_buttons: thebe: false``), so thebe's scripts
   (which also name a CDN URL) are dropped, and any other script listed twice is kept once.
2. The ipywidgets embed manager (``embed-amd.js``) computes its asset folder from the
   RequireJS module name, i.e. ``<page folder>/@jupyter-widgets/html-manager/dist/``, where
   nothing exists: its icon fonts 404. A RequireJS ``paths`` entry points that module name
   at ``_static/widgets/`` where the fonts are vendored.
3. The widget manager typesets labels with MathJax 2's ``MathJax.Hub.Queue``; the book
   loads MathJax 3, which has no ``Hub``, so rendering a widget throws. A small ``Hub``
   shim forwards to MathJax 3's ``typesetPromise``.
"""

from __future__ import annotations

from typing import Any

_WIDGET_PATHS = """require.config({paths: {"@jupyter-widgets/html-manager/dist":
  (document.documentElement.dataset.content_root || "") + "_static/widgets"}});"""

_MATHJAX2_HUB_SHIM = """document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub || !mj.typesetPromise) return;
  mj.Hub = {Queue: function () {
    for (var i = 0; i < arguments.length; i++) {
      var job = arguments[i];
      if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
        var el = job[2];
        mj.startup.promise.then(function () { return mj.typesetPromise([el]); })
          .catch(function (err) { console.warn("MathJax:", err); });
      }
    }
  }};
});"""


def _is_thebe(js: Any) -> bool:
    text = f"{getattr(js, 'filename', '') or ''} {js.attributes.get('body', '')}"
    return "thebe" in text.lower()


def _key(js: Any) -> tuple[str, str]:
    return (str(getattr(js, "filename", "") or ""), js.attributes.get("body", ""))


def fix_page_scripts(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Rewrite this page's script list in place (see the module docstring)."""
    from sphinx.builders.html._assets import _JavaScript

    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[str, str]] = set()
    kept = []
    for js in scripts:
        if not isinstance(js, _JavaScript):
            kept.append(js)
            continue
        if _key(js) in seen:
            continue
        seen.add(_key(js))
        if _is_thebe(js) and not app.config.html_theme_options.get(
                "launch_buttons", {}).get("thebe"):
            continue
        kept.append(js)
        if str(js.filename or "").endswith("widgets/require.js"):
            kept.append(_JavaScript(None, priority=js.priority, body=_WIDGET_PATHS))
            kept.append(_JavaScript(None, priority=js.priority, body=_MATHJAX2_HUB_SHIM))
    scripts[:] = kept


def setup(app) -> dict[str, Any]:
    # After myst-nb (500) has added the page's widget scripts.
    app.connect("html-page-context", fix_page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
