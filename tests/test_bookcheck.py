"""The browser check of the built book (genrepro.bookcheck) on a planted site: every defect it
exists to catch is reported with its page and element, and a clean page passes."""

import base64
import shutil

import pytest

from genrepro import bookassets, bookcheck, browser

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def chromium():
    try:
        return browser.ensure(log=lambda *_: None)
    except browser.BrowserUnavailable as e:
        pytest.skip(f"no Chromium here, so the browser check cannot run: {e}")


def page(body: str, mathjax: bool = False) -> str:
    mj = ('<script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>'
          '<script defer src="_static/mathjax/tex-svg.js"></script>') if mathjax else ""
    return f"<!doctype html><html><head><meta charset='utf-8'>{mj}</head><body><main>{body}</main></body></html>"


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "html"
    (root / "book").mkdir(parents=True)
    (root / "img.png").write_bytes(PNG)
    (root / "broken.png").write_bytes(b"not a png")
    mj = bookassets.ensure_mathjax()
    shutil.copytree(mj, root / "_static" / "mathjax")
    (root / "good.html").write_text(page(
        '<h1 id="top">Good</h1><p>Energy <span class="math">\\(E = mc^2\\)</span>.</p>'
        '<img src="img.png" alt="dot"><table><tr><th>|difference|</th></tr><tr><td>1</td></tr></table>'
        '<a href="book/other.html#sec">on</a> <a href="#top">top</a> <a href="https://example.org/x">out</a>'
        '<div class="cell_output"><pre>loss 0.25</pre></div>', mathjax=True))
    (root / "book" / "other.html").write_text(page('<h2 id="sec">Other</h2><a href="../good.html">back</a>'))
    (root / "bad.html").write_text(page(
        '<p>Eq. <span class="math">\\(\\min_G \\max_D V(D, G)\\)</span></p>'
        '<img src="broken.png" alt="broken"><img src="missing.png" alt="missing">'
        '<p>| G steps | C(G) | |difference| |\n|—|—|—|\n| 0 | 1 | 2 |</p>'
        '<div class="cell_output"><pre>Traceback (most recent call last):\n  File "x"\nValueError: bad</pre></div>'
        '<div class="cell_output"><pre>loading data\nError: data/mnist is missing</pre></div>'
        '<a href="book/nowhere.html">gone</a> <a href="book/other.html#nosuch">no anchor</a>'
        '<script>undefinedFunction()</script>'))
    return root


def test_a_clean_page_passes_and_a_planted_one_reports_each_defect(chromium, site, tmp_path):
    problems = bookcheck.check_site(site, modes=("file", "http"), screens=tmp_path / "screens",
                                    chromium=chromium, log=lambda *_: None)
    assert not [p for p in problems if p.page.startswith(("good.html", "book/other.html"))], problems
    for mode in ("file", "http"):
        bad = [p for p in problems if p.page == f"bad.html ({mode})"]
        kinds = {p.kind for p in bad}
        assert {"js-error", "image", "math", "table", "output-error", "link"} <= kinds, bad
        text = "\n".join(map(str, bad))
        assert "undefinedFunction" in text and "broken.png" in text and "missing.png" in text
        assert "span.math" in text and "untypeset" in text and "p — a Markdown table" in text
        assert "Traceback" in text and "book/nowhere.html" in text and "#nosuch" in text
        assert "Error: data/mnist is missing" in text and sum(p.kind == "output-error" for p in bad) == 2
    assert (tmp_path / "screens" / "good.png").stat().st_size > 1000


def test_cli_names_pages_and_fails(chromium, site, capsys):
    assert bookcheck.main([str(site), "--modes", "file", "--screens", str(site.parent / "s")]) == 1
    out = capsys.readouterr().out
    assert "bad.html (file): [image] img" in out and "problem(s) on 3 page(s)" in out


def test_missing_build_is_a_clear_error(chromium, tmp_path, capsys):
    assert bookcheck.main([str(tmp_path / "none"), "--modes", "file"]) == 1
    assert "build the book first" in capsys.readouterr().err


def test_cli_skips_with_a_reason_without_chromium(monkeypatch, capsys, tmp_path):
    def unavailable(log=print):
        raise browser.BrowserUnavailable("no apt-get here (not a Debian machine)")

    monkeypatch.setattr(browser, "ensure", unavailable)
    assert bookcheck.main([str(tmp_path)]) == 0
    assert "SKIPPED the browser check of the book: no apt-get" in capsys.readouterr().out


def test_mathjax_tarball_with_another_checksum_is_refused(tmp_path):
    bad = tmp_path / bookassets.MATHJAX_TGZ
    bad.write_bytes(b"not mathjax")
    with pytest.raises(bookassets.AssetError, match="not the pinned"):
        bookassets.install_mathjax(bad, root=tmp_path)
    assert not bookassets.mathjax_dir(tmp_path).exists()
