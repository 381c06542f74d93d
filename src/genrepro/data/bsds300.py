"""BSDS300 (Martin et al. 2001): the natural images of the Deep GMM chapter.

van den Oord & Schrauwen 2014 §5 model 8×8 patches of the Berkeley Segmentation Dataset's
300 images, preprocessed as Uria, Murray & Larochelle 2013 (RNADE) did. The patches are
drawn by :mod:`genrepro.data.patches`; this module only turns the official images into
verified grayscale pixel arrays.

* ``python data_prep/bsds300.py --source PATH`` reads the official ``BSDS300-images.tgz``
  or its extracted ``BSDS300/`` folder (``images/train/*.jpg``: 200, ``images/test/*.jpg``:
  100, ``iids_train.txt``, ``iids_test.txt``). Every image is checked against the SHA-256
  pinned in :data:`CHECKSUMS` (read from ``bsds300_sha256.json`` beside this module); all
  missing or altered images are listed in one
  :class:`DataError`, and nothing is written unless all 300 verify.
* Grayscale (:data:`GRAYSCALE`): ITU-R BT.601 luma as Pillow computes it,
  ``Image.convert("L")`` = ``round(0.299 R + 0.587 G + 0.114 B)`` on the decoded 0–255 RGB
  values, kept as uint8. Uria et al. do not state their conversion; MATLAB's ``rgb2gray``
  uses the same BT.601 weights, so a MATLAB-made copy differs from ours at most by rounding.
  Integer levels 0–255 are what the protocol's uniform dequantisation noise assumes.
* Output ``<data>/bsds300/``: ``images.npz`` (uncompressed, ≈46 MB; one uint8 (H, W) array
  per image, keys ``train_<id>`` / ``test_<id>``; 481×321 or 321×481, orientation kept) and
  ``manifest.json`` (source, the 300 checksums, the splits, the conversion, the npz SHA-256).

BSDS300 is provided by UC Berkeley for non-commercial research and educational use (cite
Martin, Fowlkes, Tal & Malik, ICCV 2001). It is never fetched automatically: download
``BSDS300-images.tgz`` from :data:`URL` yourself.
"""

from __future__ import annotations

import functools
import io
import json
import re
import tarfile
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from genrepro.data.prep import (
    DataError,
    DataMissingError,
    atomic_dir,
    sha256_bytes,
    sha256_file,
    write_json,
)
from genrepro.paths import data_dir

NAME = "bsds300"
SPLITS: tuple[str, ...] = ("train", "test")
URL = "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz"
PREPARE_COMMAND = "python data_prep/bsds300.py --source BSDS300-images.tgz"
NPZ = "images.npz"
GRAYSCALE = ("ITU-R BT.601 luma via Pillow Image.convert('L'): "
             "round(0.299 R + 0.587 G + 0.114 B) of the decoded 0-255 RGB values, uint8")
LICENSE = ("BSDS300 images: UC Berkeley, for non-commercial research and educational use; "
           "cite Martin, Fowlkes, Tal & Malik, ICCV 2001")

_IMAGE = re.compile(r"(?:^|/)images/(train|test)/([^/]+\.jpg)$")
_IIDS = re.compile(r"(?:^|/)iids_(train|test)\.txt$")


@dataclass(frozen=True)
class BSDS300:
    """Prepared BSDS300: ``images["train/2092"]`` is a uint8 (H, W) grayscale array."""

    images: dict[str, np.ndarray]
    manifest: dict

    def ids(self, split: str) -> list[str]:
        """The image ids of ``split`` ("train" or "test"), sorted numerically."""
        _check_split(split)
        return sorted((k.split("/", 1)[1] for k in self.images if k.startswith(split + "/")),
                      key=id_order)

    def split(self, split: str) -> list[np.ndarray]:
        """The images of ``split`` in the order of :meth:`ids`."""
        return [self.images[f"{split}/{i}"] for i in self.ids(split)]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown BSDS300 split {split!r}; valid: {', '.join(SPLITS)}")


def id_order(image_id: str) -> tuple[int, str]:
    """Sort key: numeric ids by value (BSDS300 ids are numbers), others after them."""
    return (int(image_id), "") if image_id.isdigit() else (1 << 62, image_id)


def image_ids(split: str, checksums: Mapping[str, str] | None = None) -> list[str]:
    """The ids of ``split`` named in ``checksums`` (default: the pinned 200 / 100), sorted."""
    _check_split(split)
    sums = checksums_pinned() if checksums is None else checksums
    ids = [k.split("/", 1)[1].removesuffix(".jpg") for k in sums if k.startswith(split + "/")]
    return sorted(ids, key=id_order)


def _short(names: list[str], k: int = 12) -> str:
    head = ", ".join(names[:k])
    return head + (f", … and {len(names) - k} more" if len(names) > k else "")


def _read_dir(src: Path) -> tuple[dict[str, bytes], dict[str, set[str]], str]:
    if (src / "images").is_dir():
        root = src
    elif (src / "BSDS300" / "images").is_dir():
        root = src / "BSDS300"
    else:
        raise DataError(f"--source {src}: no images/ folder (expected the extracted BSDS300/ "
                        "folder with images/train and images/test, or BSDS300-images.tgz)")
    raw: dict[str, bytes] = {}
    iids: dict[str, set[str]] = {}
    for split in SPLITS:
        for p in sorted((root / "images" / split).glob("*.jpg")):
            raw[f"{split}/{p.name}"] = p.read_bytes()
        ids_file = root / f"iids_{split}.txt"
        if ids_file.is_file():
            iids[split] = set(ids_file.read_text().split())
    return raw, iids, f"dir:{root.resolve()}"


def _read_tgz(src: Path) -> tuple[dict[str, bytes], dict[str, set[str]], str]:
    raw: dict[str, bytes] = {}
    iids: dict[str, set[str]] = {}
    try:
        with tarfile.open(src, "r:*") as tar:
            for member in tar:  # reading every member finds truncation and bad CRCs
                if not member.isfile():
                    continue
                name = member.name.replace("\\", "/")
                fobj = tar.extractfile(member)
                if fobj is None:
                    continue
                data = fobj.read()
                if m := _IMAGE.search(name):
                    raw[f"{m[1]}/{m[2]}"] = data
                elif m := _IIDS.search(name):
                    iids[m[1]] = set(data.decode("ascii", "replace").split())
            while tar.fileobj is not None and tar.fileobj.read(1 << 20):
                pass  # read to the end so gzip checks its CRC and length trailer
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DataError(f"--source {src}: not a readable .tgz archive; it is corrupt or "
                        f"truncated ({type(e).__name__}: {e}). Download {URL} again.") from e
    return raw, iids, f"tgz:{src.resolve()} (sha256 {sha256_file(src)})"


def read_source(source: str | Path) -> tuple[dict[str, bytes], dict[str, set[str]], str]:
    """Raw JPEG bytes keyed ``"train/<id>.jpg"``, the iids lists found, and a provenance line."""
    src = Path(source)
    if src.is_dir():
        return _read_dir(src)
    if src.is_file():
        return _read_tgz(src)
    raise DataError(f"--source {src}: no such file or folder")


def verify(raw: Mapping[str, bytes], checksums: Mapping[str, str], what: str) -> None:
    """Raise one :class:`DataError` listing every missing and every altered image."""
    missing = [k for k in checksums if k not in raw]
    altered = [k for k in checksums if k in raw and sha256_bytes(raw[k]) != checksums[k]]
    if missing or altered:
        parts = []
        if missing:
            parts.append(f"{len(missing)} of {len(checksums)} images are missing: "
                         f"{_short(missing)}")
        if altered:
            parts.append(f"{len(altered)} images are altered (SHA-256 differs from the pinned "
                         f"value): {_short(altered)}")
        raise DataError(f"BSDS300 from {what}: " + "; ".join(parts) + ". Use the official, "
                        f"unmodified BSDS300-images.tgz ({URL}) or its extracted folder.")


def to_gray(data: bytes, what: str) -> np.ndarray:
    """Decode an image and convert it to uint8 BT.601 luma (see :data:`GRAYSCALE`)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            gray = np.asarray(im.convert("L"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{what}: cannot decode the image ({e})") from e
    return gray


def prepare(source: str | Path | None, out: str | Path | None = None,
            checksums: Mapping[str, str] | None = None,
            log: Callable[[str], None] = print) -> Path:
    """Verify BSDS300 at ``source`` (.tgz or folder) and write ``out`` (default ``<data>/bsds300``).

    ``checksums`` maps ``"train/<id>.jpg"`` / ``"test/<id>.jpg"`` to SHA-256 (default the
    pinned :data:`CHECKSUMS`; tests pass their own for tiny fake trees). Images outside it
    are ignored. Nothing is left at ``out`` unless every image verified and decoded.
    """
    sums = dict(checksums_pinned() if checksums is None else checksums)
    if source is None:
        raise DataError(f"BSDS300 is not fetched automatically (non-commercial licence). "
                        f"Download {URL} and run:\n    {PREPARE_COMMAND}")
    out = Path(out) if out is not None else data_dir() / NAME
    raw, iids, provenance = read_source(source)
    verify(raw, sums, provenance)
    for split, listed in iids.items():
        expected = set(image_ids(split, sums))
        if listed != expected:
            odd = sorted(listed ^ expected, key=id_order)
            raise DataError(f"BSDS300 from {provenance}: iids_{split}.txt does not list the "
                            f"{split} images ({len(odd)} ids differ: {_short(odd)})")
    extra = sorted(set(raw) - set(sums))
    if extra:
        log(f"[bsds300] ignoring {len(extra)} image(s) without a pinned checksum: {_short(extra)}")
    gray = {k.removesuffix(".jpg"): to_gray(raw[k], f"BSDS300 {k}") for k in sums}
    shapes: dict[str, int] = {}
    for g in gray.values():
        shapes[f"{g.shape[0]}x{g.shape[1]}"] = shapes.get(f"{g.shape[0]}x{g.shape[1]}", 0) + 1
    with atomic_dir(out) as tmp:
        np.savez(tmp / NPZ, **{k.replace("/", "_"): v for k, v in gray.items()})
        write_json(tmp / "manifest.json", {
            "dataset": "BSDS300",
            "source": provenance,
            "raw_sha256": sums,
            "splits": {s: image_ids(s, sums) for s in SPLITS},
            "grayscale": GRAYSCALE,
            "dtype": "uint8",
            "shapes_hxw": shapes,
            "npz": NPZ,
            "npz_sha256": sha256_file(tmp / NPZ),
            "pillow": PIL.__version__,
            "license": LICENSE,
            "prepared": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
    log(f"[bsds300] wrote {out}: {len(gray)} grayscale images from {provenance}")
    return out


def default_path() -> Path:
    """Where the prepared BSDS300 lives: ``<data>/bsds300``."""
    return data_dir() / NAME


def is_prepared(path: str | Path | None = None) -> bool:
    """Whether ``path`` (default :func:`default_path`) holds a prepared BSDS300."""
    folder = Path(path) if path is not None else default_path()
    return (folder / NPZ).is_file() and (folder / "manifest.json").is_file()


def load(path: str | Path | None = None) -> BSDS300:
    """Load prepared BSDS300; a :class:`DataMissingError` naming the command when absent."""
    folder = Path(path) if path is not None else default_path()
    if not is_prepared(folder):
        raise DataMissingError("BSDS300", folder, PREPARE_COMMAND)
    manifest = json.loads((folder / "manifest.json").read_text())
    images: dict[str, np.ndarray] = {}
    with np.load(folder / NPZ) as f:
        for split in SPLITS:
            for i in manifest["splits"][split]:
                key = f"{split}_{i}"
                if key not in f.files:
                    raise DataError(f"{folder / NPZ}: image {split}/{i} is missing; prepare again")
                arr = f[key]
                if arr.dtype != np.uint8 or arr.ndim != 2 or min(arr.shape) < 8:
                    raise DataError(f"{folder / NPZ}: {split}/{i} is {arr.dtype} {arr.shape}, "
                                    "not a uint8 grayscale image; prepare again")
                images[f"{split}/{i}"] = arr
    return BSDS300(images, manifest)


CHECKSUM_FILE = Path(__file__).with_name("bsds300_sha256.json")


@functools.cache
def checksums_pinned() -> dict[str, str]:
    """The SHA-256 of the 300 official JPEGs, keyed ``train/<id>.jpg`` / ``test/<id>.jpg``,
    from :data:`CHECKSUM_FILE` (its ``about`` field says where they come from)."""
    try:
        doc = json.loads(CHECKSUM_FILE.read_text())
        sums = doc["sha256"]
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{CHECKSUM_FILE} is missing or unreadable ({e}); reinstall genrepro "
                        "(pip install -e .) or restore the file from git") from e
    if len(sums) != 300:
        raise DataError(f"{CHECKSUM_FILE} pins {len(sums)} images, not 300; restore it from git")
    return dict(sums)


def __getattr__(name: str):
    """``CHECKSUMS``: the pinned table, read on first use (PEP 562), so importing this module
    needs no data file (the GPU bundle carries only the package's ``.py`` files)."""
    if name == "CHECKSUMS":
        return checksums_pinned()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
