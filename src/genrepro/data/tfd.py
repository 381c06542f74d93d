"""The Toronto Face Database (Susskind et al. 2010), when a user has it.

TFD cannot be redistributed or fetched here; ``data_prep/tfd.py --source TFD_48x48.mat``
prepares a copy the user supplies. The ``.mat`` layout is the one pylearn2 read (and so the
original GAN code): ``images`` (N, 48, 48) uint8 and ``folds`` (N, 5), where in each of the
five fold columns 0 marks unlabelled, 1 train, 2 validation and 3 test examples. The GAN
paper trains on the unlabelled + train parts of a fold, cross-validates the Parzen σ on that
fold's validation part, scores its test part, and reports the standard error across folds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrepro.data.prep import DataError, DataMissingError, atomic_dir, sha256_file, write_json
from genrepro.paths import data_dir

NAME = "tfd"
PREPARE_COMMAND = "python data_prep/tfd.py --source TFD_48x48.mat"
SPLIT_CODES = {"unlabeled": 0, "train": 1, "valid": 2, "test": 3}


@dataclass(frozen=True)
class TFD:
    images: np.ndarray   # (N, 48, 48) uint8
    folds: np.ndarray    # (N, 5) int8, codes of SPLIT_CODES
    manifest: dict

    def split(self, fold: int, which: str) -> np.ndarray:
        """Images of one fold's split ('unlabeled', 'train', 'valid', 'test', 'full_train'),
        flattened to (n, 2304) float32 in [0, 1] as pylearn2's ``TFD(scale=True)``."""
        if not 0 <= fold < self.folds.shape[1]:
            raise ValueError(f"fold must be in 0..{self.folds.shape[1] - 1}, got {fold}")
        col = self.folds[:, fold]
        if which == "full_train":
            mask = (col == 0) | (col == 1)
        elif which in SPLIT_CODES:
            mask = col == SPLIT_CODES[which]
        else:
            raise ValueError(f"unknown split {which!r}; use one of {[*SPLIT_CODES, 'full_train']}")
        return self.images[mask].reshape(int(mask.sum()), -1).astype(np.float32) / 255.0


def _read_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except Exception as e:  # scipy raises several types for non-.mat input
        raise DataError(f"{path}: not a readable MATLAB file ({e}); pass TFD_48x48.mat") from e
    missing = [k for k in ("images", "folds") if k not in mat]
    if missing:
        raise DataError(f"{path}: no field(s) {missing}; expected the TFD_48x48.mat layout "
                        "(images N×48×48, folds N×5)")
    images, folds = np.asarray(mat["images"]), np.asarray(mat["folds"])
    if images.ndim != 3 or images.shape[1:] != (48, 48):
        raise DataError(f"{path}: images has shape {images.shape}, expected (N, 48, 48)")
    if folds.shape != (images.shape[0], 5):
        raise DataError(f"{path}: folds has shape {folds.shape}, expected ({images.shape[0]}, 5)")
    if not np.isin(folds, list(SPLIT_CODES.values())).all():
        raise DataError(f"{path}: folds holds codes other than 0–3")
    if images.dtype != np.uint8:
        if images.min() < 0 or images.max() > 255:
            raise DataError(f"{path}: image values outside 0..255")
        images = images.astype(np.uint8)
    return images, folds.astype(np.int8)


def prepare(source: str | Path, out: str | Path | None = None) -> Path:
    """Validate a user-supplied ``TFD_48x48.mat`` and store it as ``<data>/tfd/tfd.npz``."""
    source = Path(source)
    if not source.is_file():
        raise DataError(f"--source {source}: no such file")
    out = Path(out) if out is not None else data_dir() / NAME
    images, folds = _read_mat(source)
    with atomic_dir(out) as tmp:
        np.savez_compressed(tmp / "tfd.npz", images=images, folds=folds)
        write_json(tmp / "manifest.json", {
            "dataset": "Toronto Face Database (48×48)", "source": f"file:{source.name}",
            "source_sha256": sha256_file(source), "images": int(len(images)),
            "license": "TFD: research use, from its authors; not redistributable",
            "prepared": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
    return out


def load(path: str | Path | None = None) -> TFD:
    """Load prepared TFD, or raise :class:`DataMissingError` naming the command."""
    folder = Path(path) if path is not None else data_dir() / NAME
    if not (folder / "tfd.npz").is_file():
        raise DataMissingError("Toronto Face Database", folder, PREPARE_COMMAND)
    with np.load(folder / "tfd.npz") as f:
        return TFD(f["images"], f["folds"], json.loads((folder / "manifest.json").read_text()))


def available(path: str | Path | None = None) -> bool:
    folder = Path(path) if path is not None else data_dir() / NAME
    return (folder / "tfd.npz").is_file()
