"""Headless Chromium for checking the built book as a reader sees it (:mod:`genrepro.bookcheck`).

Uses the machine's Chromium and ChromeDriver when both are installed (Debian's ``chromium`` and
``chromium-driver``: ``/usr/bin/chromium``, ``/usr/bin/chromedriver``). Otherwise it takes the
same Debian packages, and whatever libraries of theirs the machine lacks, as archives
(``apt-get download``: apt checks each against the signed archive index), checks each archive
against the SHA-256 pinned in :data:`LOCK` and unpacks it with ``dpkg-deb -x`` into
``.venv/chromium/`` — no package scripts run, nothing is installed system-wide, no browser is
downloaded from anywhere else.

Debian replaces Chromium with every security release, and the archive keeps only the newest.
A package at a version the lock does not name is still taken (apt has verified it) with a
printed note; ``python -m genrepro.browser --lock`` prints the lock for what was fetched.

    python -m genrepro.browser [--lock]     # install (or find) Chromium and print where
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from genrepro import paths
from genrepro.data.prep import sha256_file

PACKAGES = ("chromium", "chromium-driver")
# (package, version, SHA-256 of the .deb) fetched on Debian 12 (bookworm), amd64, 2026-11-30
LOCK: tuple[tuple[str, str, str], ...] = (
    ("chromium-common", "150.0.7871.100-1~deb12u1", "31326f6b71ce20a52e7bea9792bf7135d4ff802e1cdbc250960b1b46729998d2"),
    ("chromium-driver", "150.0.7871.100-1~deb12u1", "aeb73e35cfe9784afaae740502141cf05fb310f8e5ab1c7d6a50aaa7d997ce6f"),
    ("chromium", "150.0.7871.100-1~deb12u1", "9eb054fb52bbcd7a8c6407484be2337298ff8b1e19af14af2e7b497fa190ce4f"),
    ("libasyncns0", "0.8-6+b3", "cadaff99f4178b1f580331045621b363abaaefc994e78eecba1857774a3cead2"),
    ("libcolord2", "1.4.6-2.2", "6e5a48b72ae316301103d642c8881cc06205cb4b5f54c25c467b2847048d268f"),
    ("libdouble-conversion3", "3.2.1-1", "802b880ed900e4a8d54bab77b7551a7f3408b04891c3e5650fdc2368cc1fbc0a"),
    ("libepoxy0", "1.5.10-1", "050cbedc9c2a5cce976151c720a3817f2103a01e6ac255bdd6f2c6a7509b04c3"),
    ("libflac12", "1.4.2+ds-2", "4d8431c274eef13ec9ee2c0bf988c34b4342367dec053b7f69a432525be5b1fe"),
    ("libgtk-3-0", "3.24.38-2~deb12u3", "0ff7375c98b5a8d6aafc6096b21d9f7bae4ecb581d31fce5d37be18f55b489a2"),
    ("libgtk-3-common", "3.24.38-2~deb12u3", "f2642d127d85440acbfc2ed404d3932d8b2fbe8a576ead7f93f35ac1fa999c92"),
    ("libharfbuzz-subset0", "6.0.0+dfsg-3", "020de1eeba5fb56052a6ca71b259f8cbe3f6fce5038f4caca751c7e4867ca33f"),
    ("libminizip1", "1.1-8+deb12u1", "b2999b980cbb9e6dcaa2d5154c9d1f1b9d55f5a0ca8166699de7ab47afaf4a36"),
    ("libmp3lame0", "3.100-6", "b1292c749172e7623547ecf684da57d3ec6ca22109f08b11bbb9e6be6e6beb95"),
    ("libmpg123-0", "1.31.2-1+deb12u1", "a10ad0d59995b859797a5f20d2833672051d0b2c7dab4c71f2e79258b2e3f631"),
    ("libogg0", "1.3.5-3", "f67acb0477aed0354f411172e37af338f3ac6bd4f3766134a2cf5539884b5a28"),
    ("libopenh264-7", "2.3.1+dfsg-3+deb12u2", "d453c4d81b7b3ff14663da75471250a4894543ae5ab5e902e225aca56aec56e8"),
    ("libopenjp2-7", "2.5.0-2+deb12u3", "a127e2f1741d66bdddb6393a718e3cbec327d53f88c89b859b1f8d73f64cf635"),
    ("libopus0", "1.3.1-3", "c172e212f9039e741916aa8e12f3670d1e049dc0c16685325641288c2d83faa7"),
    ("libpulse0", "16.1+dfsg1-2+b1", "7b2c5403cb726312219aad678becc6d6adcee1d8694fdffce0b6ec15ae010831"),
    ("libsndfile1", "1.2.0-1+deb12u1", "02dc3f08fe8476e82e005f412e3b7289ff641180f33a9be8073f4bde61c85e8e"),
    ("libvorbis0a", "1.3.7-1", "01c14f9d1109650077a4c5c337c285476a6932d4d448f5a190c2b845724dbf21"),
    ("libvorbisenc2", "1.3.7-1", "75dd4d6f904c7db82f5112e60d8efea9e81dfedf94e970c5da7af2b3d81643c0"),
    ("libwayland-cursor0", "1.21.0-1", "0b684467ec795024fcaae99ea4384959cc4052b2da5adec38c9b76dfed9bcf41"),
    ("libwayland-egl1", "1.21.0-1", "cb4225f0e15e00a3570d4cbc288c87ff477d73e741c3f1c5a6d47cf350d45378"),
    ("libxnvctrl0", "525.85.05-3~deb12u1", "6fc26e4b6069f4648692e0c225f580161e3b0c04e4bac1c616c8a418a9a9817d"),
    ("xdg-utils", "1.1.3-4.1", "0e31caa8c34643f7eedb4d373ee61943c09061275b5fa727524fc568d0a9e332"),
)
# flags of a headless Chromium on a machine with no network (without the background-networking
# ones it keeps trying, and failing, to reach Google's services)
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1")


class BrowserUnavailable(RuntimeError):
    """Chromium cannot be found or installed here; the message says why (checks skip on it)."""


@dataclass(frozen=True)
class Chromium:
    """Where the browser and its driver are, and the environment they need."""

    binary: Path
    driver: Path
    env: dict[str, str]
    source: str        # "system" or the folder it was unpacked into

    def version(self) -> str:
        out = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True, env=self.env)
        if out.returncode != 0:
            raise BrowserUnavailable(f"{self.binary} does not start: {out.stderr.strip()[-400:]}")
        return out.stdout.strip()


def local_root() -> Path:
    return paths.project_root() / ".venv" / "chromium"


def _unpacked(root: Path) -> Chromium:
    libs = [root / "usr/lib/x86_64-linux-gnu", root / "usr/lib/x86_64-linux-gnu/pulseaudio",
            root / "usr/lib/aarch64-linux-gnu", root / "usr/lib/aarch64-linux-gnu/pulseaudio"]
    ld = ":".join(str(p) for p in libs if p.is_dir())
    env = {**os.environ, "LD_LIBRARY_PATH": ld + (":" + os.environ["LD_LIBRARY_PATH"]
                                                   if os.environ.get("LD_LIBRARY_PATH") else "")}
    return Chromium(root / "usr/lib/chromium/chromium", root / "usr/bin/chromedriver", env, str(root))


def find() -> Chromium | None:
    """The machine's Chromium, else one unpacked by :func:`install`, else None."""
    sys_bin, sys_drv = shutil.which("chromium"), shutil.which("chromedriver")
    if sys_bin and sys_drv:
        return Chromium(Path(sys_bin), Path(sys_drv), dict(os.environ), "system")
    c = _unpacked(local_root())
    return c if (local_root() / ".complete").is_file() and c.binary.is_file() and c.driver.is_file() else None


def missing_packages() -> list[tuple[str, str]]:
    """(package, version) that Chromium and ChromeDriver need and this machine lacks, as apt
    would install them (no recommends)."""
    if shutil.which("apt-get") is None:
        raise BrowserUnavailable("no apt-get here (not a Debian machine): install Chromium and "
                                 "ChromeDriver so that `chromium` and `chromedriver` are on PATH")
    out = subprocess.run(["apt-get", "install", "--dry-run", "--no-install-recommends", *PACKAGES],
                         capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if out.returncode != 0:
        raise BrowserUnavailable(f"apt cannot resolve {' '.join(PACKAGES)} "
                                 f"({out.stderr.strip()[-300:]}); run `apt-get update` first")
    return re.findall(r"^Inst (\S+) (?:\[\S+\] )?\((\S+)", out.stdout, flags=re.M)


def install(root: Path | None = None, log=print) -> Chromium:
    """Fetch and unpack Chromium, ChromeDriver and the libraries this machine lacks into
    ``root`` (default ``.venv/chromium``), atomically; returns what :func:`find` would."""
    root = root or local_root()
    pinned = {(p, v): s for p, v, s in LOCK}
    need = missing_packages()
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".chromium-") as tmp:
        debs, tree = Path(tmp) / "debs", Path(tmp) / "root"
        debs.mkdir()
        tree.mkdir()
        specs = [f"{p}={v}" for p, v in need]
        out = subprocess.run(["apt-get", "download", *specs], cwd=debs, capture_output=True, text=True)
        if out.returncode != 0:
            raise BrowserUnavailable(f"`apt-get download` failed: {out.stderr.strip()[-400:]}")
        fetched = []
        for deb in sorted(debs.glob("*.deb")):
            fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version"], capture_output=True,
                                    text=True, check=True).stdout.split("\n")
            pkg, ver = fields[0].split(": ", 1)[1], fields[1].split(": ", 1)[1]
            digest = sha256_file(deb)
            want = pinned.get((pkg, ver))
            if want is not None and want != digest:
                raise BrowserUnavailable(f"{deb.name}: SHA-256 {digest} differs from the pinned {want}; "
                                         "not unpacking it")
            if want is None:
                log(f"note: {pkg} {ver} is not in genrepro.browser.LOCK (Debian has moved on); apt verified "
                    "it against the signed archive index. Refresh the lock: python -m genrepro.browser --lock")
            fetched.append((pkg, ver, digest))
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        (tree / ".lock").write_text("".join(f"{p} {v} {s}\n" for p, v, s in fetched))
        (tree / ".complete").touch()
        if root.exists():
            shutil.rmtree(root)
        tree.rename(root)
    c = _unpacked(root)
    log(f"Chromium unpacked into {paths.display(root)} ({len(need)} Debian packages): {c.version()}")
    return c


def ensure(log=print) -> Chromium:
    """Chromium ready to drive, installing it locally once if the machine has none; raises
    :class:`BrowserUnavailable` with the reason when that cannot be done."""
    c = find()
    if c is None:
        c = install(log=log)
    c.version()
    return c


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        c = ensure()
    except BrowserUnavailable as e:
        print(f"Chromium unavailable: {e}", file=sys.stderr)
        return 1
    print(f"{c.version()} ({c.source}); driver {c.driver}")
    if "--lock" in args and c.source != "system":
        for line in (Path(c.source) / ".lock").read_text().splitlines():
            p, v, s = line.split()
            print(f'    ("{p}", "{v}", "{s}"),')
    return 0


if __name__ == "__main__":
    sys.exit(main())
