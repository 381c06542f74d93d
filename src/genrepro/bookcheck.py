"""Check the built book as a reader sees it: every page opened in headless Chromium.

``jupyter-book build -W`` checks the sources; it cannot see that a formula stayed raw TeX
because MathJax did not load, or that a table came out as a line of pipes. This opens every
page of ``_build/html`` in Chromium (:mod:`genrepro.browser`), both from ``file://`` (what a
user of ``make reproduce`` opens) and from a local web server, and reports, with the page and
the element:

- ``js-error``: an error in the browser's console (a script that failed, a resource that did
  not load);
- ``image``: an image that does not decode (``naturalWidth == 0``);
- ``math``: a formula left untypeset (a ``.math`` element without MathJax output, or raw TeX
  in the page's text);
- ``table``: a Markdown table shown as text (a ``|---|`` row outside a table);
- ``output-error``: a cell output holding a Python traceback or an ``…Error:`` line;
- ``link``: an internal link or citation whose page or anchor does not exist.

It writes the first screen of each page to ``--screens`` (default ``_build/screens``).

    python -m genrepro.bookcheck [_build/html] [--screens DIR] [--full-pages] [--modes file,http]

Exit status 0 when clean (or when Chromium cannot be had here: it prints why and skips), 1 with
problems.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from genrepro import browser, paths

WAIT_S = 15.0   # per page: scripts, images and MathJax must be done by then

# Runs in the page (async: the last argument is the callback). Waits for images (lazy ones are
# made eager) and MathJax, then reports what a reader would see wrong.
PAGE_JS = r"""
const done = arguments[arguments.length - 1];
const t0 = Date.now(), limit = arguments[0];
const describe = el => {
  const id = el.id ? '#' + el.id : '';
  const cls = el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '';
  return el.tagName.toLowerCase() + id + cls;
};
document.querySelectorAll('img[loading="lazy"]').forEach(i => { i.loading = 'eager'; });
const ready = () => {
  const imgs = [...document.images].every(i => i.complete);
  const mathNeeded = document.querySelector('.math') !== null;
  const mj = window.MathJax && MathJax.startup && MathJax.startup.promise;
  return {imgs, mathNeeded, mj};
};
const finish = (mjState) => {
  const out = {mathjax: mjState, problems: [], links: []};
  const add = (kind, el, detail) => out.problems.push({kind, element: el ? describe(el) : '', detail});
  for (const i of document.images) {
    if (!i.complete) add('image', i, `did not load within ${limit / 1000} s: ${i.getAttribute('src')}`);
    else if (i.naturalWidth === 0) add('image', i, `does not decode: ${i.getAttribute('src')} (alt: ${i.alt || '-'})`);
  }
  document.querySelectorAll('.math').forEach(el => {
    if (!el.querySelector('mjx-container') && !el.closest('mjx-container'))
      add('math', el, 'untypeset: ' + el.textContent.trim().slice(0, 80));
  });
  const main = document.querySelector('main') || document.body;
  const skip = 'script, style, code, .cell_input, .highlight, mjx-container, .math, textarea, .cell_output pre';
  const tex = /\\\(|\\\[|\$\$|\\(frac|mathbb|mathcal|mathrm|sum_|int_|begin\{)/;
  // a separator row (|---|; Sphinx's typographer may have made it |—|), or two lines in a row
  // that start and end with a pipe
  const pipeRow = /\|\s*:?(?:-{3,}|[\u2013\u2014]+-*):?\s*\|/;
  const pipeLines = /(^|\n)\s*\|[^\n]*\|\s*\n\s*\|[^\n]*\|\s*($|\n)/;
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) {
    const el = n.parentElement;
    if (!el || el.closest('script, style, mjx-container')) continue;
    const text = n.textContent;
    if (!el.closest(skip) && tex.test(text)) add('math', el, 'raw TeX in the text: ' + text.trim().slice(0, 80));
    if (!el.closest('table, .cell_input, .highlight') && (pipeRow.test(text) || pipeLines.test(text)))
      add('table', el, 'a Markdown table shown as text: ' + text.trim().slice(0, 80));
  }
  document.querySelectorAll('.cell_output, .output').forEach(el => {
    const t = el.innerText || '';
    const m = t.match(/Traceback \(most recent call last\)|(^|\n)\s*(?:[A-Z][A-Za-z]*)?(?:Error|Exception)\b[^\n]*:[^\n]*/);
    if (m && !el.parentElement.closest('.cell_output, .output'))
      add('output-error', el, m[0].trim().slice(0, 100));
  });
  for (const a of document.querySelectorAll('a[href]'))
    out.links.push({href: a.href, raw: a.getAttribute('href'), text: (a.textContent || '').trim().slice(0, 60),
                    element: describe(a)});
  done(out);
};
(function wait() {
  const r = ready();
  if (r.mj) { r.mj.then(() => (r.imgs ? finish('typeset') : setTimeout(wait, 50)), e => finish('error: ' + e)); return; }
  const loaded = document.readyState === 'complete';
  if (r.imgs && !r.mathNeeded && loaded) { finish('not needed'); return; }
  if (r.imgs && loaded && !document.querySelector('script[src*="mathjax" i]')) { finish('MathJax did not load: the page has no MathJax script'); return; }
  if (Date.now() - t0 > limit) { finish(r.mathNeeded ? 'MathJax did not load' : 'timeout'); return; }
  setTimeout(wait, 50);
})();
"""


@dataclass(frozen=True)
class Problem:
    page: str
    kind: str
    element: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: [{self.kind}] {self.element} — {self.detail}"


def pages(html_dir: Path) -> list[Path]:
    """Every page of the built book (not the files under ``_static``, ``_sources``, ...)."""
    return sorted(p for p in html_dir.rglob("*.html")
                  if not any(part.startswith(("_", ".")) for part in p.relative_to(html_dir).parts[:-1]))


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@functools.lru_cache(maxsize=256)
def _anchors(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


def check_links(page: str, links: list[dict], html_dir: Path, base: str) -> list[Problem]:
    """Internal links (same file tree or same server) must reach a file and, with ``#x``, an
    element with that id there. External addresses are not fetched (no network)."""
    out = []
    for ln in links:
        url = urllib.parse.urlsplit(ln["href"])
        if not ln["href"].startswith(base) or url.scheme not in ("file", "http"):
            continue
        rel = urllib.parse.unquote(ln["href"][len(base):].split("#")[0].split("?")[0])
        target = html_dir / rel
        if target.is_dir() or rel == "":
            target = target / "index.html"
        where = f"{ln['element']} “{ln['text']}” → {ln['raw']}"
        if not target.is_file():
            out.append(Problem(page, "link", where, f"no file {paths.display(target)}"))
        elif url.fragment and target.suffix == ".html" and urllib.parse.unquote(url.fragment) not in _anchors(target):
            out.append(Problem(page, "link", where, f"no element #{url.fragment} in {target.name}"))
    return out


@contextmanager
def serve(html_dir: Path) -> Iterator[str]:
    """The book on a local web server (a thread); yields its base address."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def open_driver(c: browser.Chromium, width: int = 1280, height: int = 900):  # -> selenium WebDriver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(c.binary)
    for flag in (*browser.FLAGS, f"--window-size={width},{height}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(str(c.driver), env=c.env))
    drv.set_script_timeout(WAIT_S + 10)
    return drv


def check_page(drv, url: str, page: str, html_dir: Path, base: str) -> tuple[list[Problem], str]:
    """Open ``url`` and return its problems and MathJax's state."""
    from selenium.common.exceptions import WebDriverException

    drv.get_log("browser")   # drop what an earlier page left
    drv.get(url)
    try:
        res = drv.execute_async_script(PAGE_JS, int(WAIT_S * 1000))
    except WebDriverException:
        # a redirect page (index.html's meta refresh) can navigate away while the script waits:
        # check the page it lands on, once; a page that never finishes is a problem of its own
        time.sleep(1.0)
        try:
            res = drv.execute_async_script(PAGE_JS, int(WAIT_S * 1000))
        except WebDriverException as e:
            return [Problem(page, "load", "page", f"did not finish loading: {str(e).splitlines()[0][:200]}")], "unknown"
    probs = [Problem(page, p["kind"], p["element"], p["detail"]) for p in res["problems"]]
    for entry in drv.get_log("browser"):
        msg = entry.get("message", "")
        if entry.get("level") == "SEVERE" and "favicon.ico" not in msg:
            probs.append(Problem(page, "js-error", entry.get("source", "console"), msg[:300]))
    if res["mathjax"].startswith(("error", "MathJax did not load")):
        probs.append(Problem(page, "math", "MathJax", res["mathjax"]))
    return probs + check_links(page, res["links"], html_dir, base), res["mathjax"]


def screenshot(drv, path: Path, full: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if full:
        import base64

        h = drv.execute_script("return Math.min(document.documentElement.scrollHeight, 16000)")
        w = drv.execute_script("return document.documentElement.clientWidth")
        shot = drv.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))
    else:
        drv.save_screenshot(str(path))


def check_site(html_dir: Path, modes: tuple[str, ...] = ("file", "http"), screens: Path | None = None,
               full_pages: bool = False, chromium: browser.Chromium | None = None,
               log=print) -> list[Problem]:
    """Check every page of ``html_dir`` in each mode; screenshots (``file`` mode) into ``screens``."""
    html_dir = html_dir.resolve()
    todo = pages(html_dir)
    if not todo:
        raise FileNotFoundError(f"no HTML pages under {html_dir}: build the book first (make book)")
    c = chromium or browser.ensure(log=log)
    problems: list[Problem] = []
    drv = open_driver(c)
    try:
        for mode in modes:
            ctx = serve(html_dir) if mode == "http" else _file_base(html_dir)
            with ctx as base:
                for p in todo:
                    rel = p.relative_to(html_dir).as_posix()
                    t = time.perf_counter()
                    found, mj = check_page(drv, base + urllib.parse.quote(rel), rel, html_dir, base)
                    problems += [Problem(f"{rel} ({mode})", q.kind, q.element, q.detail) for q in found]
                    if screens is not None and mode == modes[0]:
                        screenshot(drv, screens / (rel.replace("/", "_").removesuffix(".html") + ".png"), full_pages)
                    log(f"  {mode:4s} {rel:28s} {len(found):3d} problem(s), math {mj}, {time.perf_counter() - t:.1f} s")
    finally:
        drv.quit()
    return problems


@contextmanager
def _file_base(html_dir: Path) -> Iterator[str]:
    yield html_dir.as_uri() + "/"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m genrepro.bookcheck", description=__doc__.split("\n\n")[0])
    ap.add_argument("html", nargs="?", type=Path, default=Path("_build/html"))
    ap.add_argument("--screens", type=Path, default=Path("_build/screens"))
    ap.add_argument("--full-pages", action="store_true", help="screenshot whole pages, not the first screen")
    ap.add_argument("--modes", default="file,http", help="file (file:// pages), http (a local server), or both")
    args = ap.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    if not set(modes) <= {"file", "http"}:
        ap.error(f"--modes takes file and/or http, got {args.modes!r}")
    try:
        chromium = browser.ensure()
    except browser.BrowserUnavailable as e:
        print(f"SKIPPED the browser check of the book: {e}")
        return 0
    t = time.perf_counter()
    print(f"checking {args.html} in {chromium.version()} ({', '.join(modes)})")
    try:
        problems = check_site(args.html, modes, args.screens, args.full_pages, chromium)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s) on {len(pages(args.html.resolve()))} page(s) in "
          f"{time.perf_counter() - t:.0f} s; screenshots in {args.screens}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
