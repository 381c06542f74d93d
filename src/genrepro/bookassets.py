"""Files the built book serves itself, so that it reads the same offline: MathJax 3.

Sphinx loads MathJax from a CDN by default; offline, every formula then stays raw TeX. We take
the npm package ``mathjax@3.2.2`` as the archive ``npm pack`` fetches (no install scripts run),
check it against the SHA-256 pinned here, and copy MathJax's SVG build into
``_vendor/static/mathjax/``, which ``_config.yml`` adds to the book's static files and points
``mathjax_path`` at. The SVG output draws glyphs as paths: it needs no web fonts, which a page
opened from ``file://`` could not load (browsers refuse cross-origin font loads there).

    python -m genrepro.bookassets [--tarball mathjax-3.2.2.tgz]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from genrepro import paths
from genrepro.data.prep import atomic_dir, sha256_file

MATHJAX_SPEC = "mathjax@3.2.2"
MATHJAX_TGZ = "mathjax-3.2.2.tgz"
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
# the SVG component and what it loads on demand: TeX extensions (autoload), the menu, a11y, speech
MATHJAX_PARTS = ("tex-svg.js", "input/", "output/", "ui/", "a11y/", "sre/")
MATHJAX_ENTRY = "tex-svg.js"   # _config.yml: mathjax_path: mathjax/tex-svg.js


class AssetError(RuntimeError):
    """An asset could not be fetched or failed its checksum; the message says what to do."""


def vendor_dir(root: Path | None = None) -> Path:
    return (root or paths.project_root()) / "_vendor" / "static"


def mathjax_dir(root: Path | None = None) -> Path:
    return vendor_dir(root) / "mathjax"


def fetch_mathjax_tarball(cache: Path) -> Path:
    """``npm pack mathjax@3.2.2`` into ``cache`` (kept between builds); checked by SHA-256."""
    tgz = cache / MATHJAX_TGZ
    if not tgz.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm")
        if npm is None:
            raise AssetError(f"npm is not installed, so {MATHJAX_SPEC} cannot be fetched. Install Node.js "
                             f"with npm, or fetch {MATHJAX_TGZ} elsewhere (`npm pack {MATHJAX_SPEC}`) and run "
                             f"`python -m genrepro.bookassets --tarball PATH`")
        proc = subprocess.run([npm, "pack", MATHJAX_SPEC, "--pack-destination", str(cache), "--silent"],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not tgz.is_file():
            raise AssetError(f"`npm pack {MATHJAX_SPEC}` failed (exit {proc.returncode}): "
                             f"{(proc.stderr or proc.stdout).strip()[-500:]}\nWithout it the book's math "
                             f"stays raw TeX offline. Check the npm registry is reachable, or pass --tarball")
    return tgz


def install_mathjax(tarball: Path, root: Path | None = None) -> Path:
    """Verify ``tarball`` against :data:`MATHJAX_SHA256` and unpack MathJax's SVG build into
    :func:`mathjax_dir`, atomically (a failure leaves the previous copy, or none)."""
    digest = sha256_file(tarball)
    if digest != MATHJAX_SHA256:
        raise AssetError(f"{tarball} has SHA-256 {digest}, not the pinned {MATHJAX_SHA256} of "
                         f"{MATHJAX_SPEC}: delete it and fetch it again (`npm pack {MATHJAX_SPEC}`)")
    target = mathjax_dir(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(target) as tmp, tarfile.open(tarball, "r:gz") as tar:
        members = []
        for m in tar.getmembers():
            rel = m.name.removeprefix("package/es5/")
            if m.name.startswith("package/es5/") and any(rel == p or (p.endswith("/") and rel.startswith(p))
                                                          for p in MATHJAX_PARTS):
                m.name = rel
                members.append(m)
        tar.extractall(tmp, members=members, filter="data")
        if not (tmp / MATHJAX_ENTRY).is_file():
            raise AssetError(f"{tarball} holds no es5/{MATHJAX_ENTRY}: is it {MATHJAX_SPEC}?")
    return target


def ensure_mathjax(root: Path | None = None, tarball: Path | None = None) -> Path:
    """MathJax in place for the book build: fetched and unpacked once, then reused."""
    target = mathjax_dir(root)
    stamp = target.parent.parent / "mathjax.sha256"   # outside the static files the book copies
    if (target / MATHJAX_ENTRY).is_file() and stamp.is_file() and stamp.read_text().strip() == MATHJAX_SHA256:
        return target
    install_mathjax(tarball or fetch_mathjax_tarball(paths.artifacts_dir() / "vendor"), root)
    stamp.write_text(MATHJAX_SHA256 + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m genrepro.bookassets", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tarball", type=Path, help=f"a {MATHJAX_TGZ} fetched elsewhere (checked by SHA-256)")
    args = ap.parse_args(argv)
    try:
        target = ensure_mathjax(tarball=args.tarball)
    except AssetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"MathJax ({MATHJAX_SPEC}, SVG output) in {paths.display(target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
