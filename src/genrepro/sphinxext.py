"""A Sphinx extension for the book's HTML (loaded from ``_config.yml``: ``extra_extensions``).

Fixes two things the browser check (:mod:`genrepro.bookcheck`) found on every page of a stock
Jupyter Book 1.x build, both logged as errors in the browser's console:

- ``sphinx-thebe`` and ``sphinx-togglebutton`` register their inline configuration scripts
  twice, so ``const THEBE_JS_URL`` is declared twice: "Identifier 'THEBE_JS_URL' has already
  been declared". Each page keeps the first copy of every script and stylesheet.
- pydata-sphinx-theme reads its colour mode from the ``default_mode`` of ``html_context``,
  which Jupyter Book leaves empty: "Got invalid theme mode: . Resetting to auto.". Unless the
  book sets one, we set ``light``: the figures are drawn for a white page.
"""

from __future__ import annotations

from typing import Any


def _key(asset: Any) -> tuple:
    """Sphinx's asset (``_JavaScript``/``_CascadingStyleSheet``) or a plain file name; an inline
    script may carry ``None`` or ``""`` as its file name (the two copies above do)."""
    attrs = getattr(asset, "attributes", {}) or {}
    name = getattr(asset, "filename", asset) or ""
    return (str(name), tuple(sorted((k, str(v)) for k, v in attrs.items())))


def dedupe_assets(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    for name in ("script_files", "css_files"):
        assets = context.get(name)
        if not assets:
            continue
        seen, kept = set(), []
        for a in assets:
            k = _key(a)
            if k not in seen:
                seen.add(k)
                kept.append(a)
        context[name] = kept


def default_light_mode(app: Any, config: Any) -> None:
    ctx = dict(config.html_context or {})
    ctx.setdefault("default_mode", "light")
    config.html_context = ctx


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", default_light_mode)
    app.connect("html-page-context", dedupe_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
