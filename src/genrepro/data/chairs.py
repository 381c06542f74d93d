"""3D chairs for DC-IGN (Kulkarni et al. 2015 §4.2): chair models seen from 62 viewpoints.

The paper used Aubry et al. 2014's dataset (1393 CAD chairs, each rendered at 31 azimuths
every 360/31° × 2 elevations, 20° and 30°), cropped, converted to grayscale and resized to
150×150. ``data_prep/chairs.py [--profile quick|full]`` writes
``<data>/chairs/<profile>/chairs.npz`` + ``manifest.json`` (one folder per profile, so the
quick and full data coexist) from one of two sources:

* default: the seating models (chairs, armchairs, stools, sofas, benches) of Debian's
  ``sweethome3d-furniture`` 1.8-1 (CC0 / CC-BY-3.0 models, credited per model in the
  manifest), fetched with ``apt-get download`` (never installed) into the shared raw-archive
  cache (``GENREPRO_CACHE``, else ``~/.cache/genrepro``), checked against pinned SHA-256s
  and rendered with :func:`genrepro.render.render` at Aubry's 62 views
  (:mod:`genrepro.data.sweethome3d`);
* ``--source PATH``: Aubry's own ``rendered_chairs`` folder or ``rendered_chairs.tar``
  (white background masked to black, :func:`aubry_image`; cropped per chair,
  :func:`aubry_models`; :mod:`genrepro.data.chairs_aubry`), or a ``.deb`` / ``.sh3f`` file
  or a folder of ``.sh3f`` catalogs.

Images are uint8 ``(models, views, H, W)``, black background, views ordered
elevation-major (view ``e * 31 + a``). Whole models are held out as the test split.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrepro.data.chairs_aubry import aubry_image, aubry_models
from genrepro.data.prep import DataError, DataMissingError, atomic_dir, sha256_file, write_json
from genrepro.data.sweethome3d import (ALBEDO_FLOOR, CATEGORIES, DEB_FILE, DEB_PACKAGE,
                                       DEB_SHA256, DEB_VERSION, ELEVATIONS, FILL, LIGHT,
                                       N_AZIMUTHS, PREPARE_COMMAND, SH3F_DIR, SH3F_SHA256,
                                       CatalogEntry, check_sha256, extract_deb_sh3f, fetch_deb,
                                       load_model, parse_catalog, parse_properties, render_views,
                                       seat_category, short_license, sweethome3d_models,
                                       view_grid)
from genrepro.paths import data_dir

__all__ = [  # the public face: the SweetHome3D and Aubry sources are re-exported from here
    "ALBEDO_FLOOR", "CATEGORIES", "DEB_FILE", "DEB_PACKAGE", "DEB_SHA256", "DEB_VERSION",
    "ELEVATIONS", "FILL", "LIGHT", "NAME", "N_AZIMUTHS", "PREPARE_COMMAND", "SH3F_DIR",
    "SH3F_SHA256", "CatalogEntry", "Chairs", "DataError", "DataMissingError", "aubry_image",
    "aubry_models", "check_sha256", "extract_deb_sh3f", "fetch_deb", "load_chairs", "load_model",
    "parse_catalog", "parse_properties", "prepare", "render_views", "seat_category",
    "short_license", "split_models", "sweethome3d_models", "view_grid",
]

NAME = "chairs"


@dataclass(frozen=True)
class Chairs:
    """Prepared chairs: ``images`` uint8 (M, V, H, W); per view ``azimuth``/``elevation`` (V,)
    in degrees; per model ``model_ids`` and ``categories``; the ``manifest`` (credits, split)."""

    images: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray
    model_ids: np.ndarray
    categories: np.ndarray
    manifest: dict = field(repr=False)

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(images (M*V, H, W), model index, azimuth, elevation)``, one row per image."""
        m, v = self.images.shape[:2]
        return (self.images.reshape(m * v, *self.images.shape[2:]), np.repeat(np.arange(m), v),
                np.tile(self.azimuth, m), np.tile(self.elevation, m))


# --- prepare / load ------------------------------------------------------------------------

def split_models(n: int, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean ``is_test`` per model: ``round(test_fraction * n)`` whole models (at least one
    when n ≥ 2), drawn with ``seed`` — deterministic given (n, fraction, seed)."""
    n_test = min(max(int(round(test_fraction * n)), 1 if n >= 2 else 0), max(n - 1, 0))
    is_test = np.zeros(n, bool)
    is_test[np.random.default_rng(seed + 1).permutation(n)[:n_test]] = True
    return is_test


def _source_kind(src: Path, work: Path, deb_sha256: str | None) -> tuple[str, list[Path]]:
    if src.is_file() and src.suffix == ".deb":
        check_sha256(src, deb_sha256)
        return "deb", extract_deb_sh3f(src, work)
    if src.is_file() and src.suffix == ".sh3f":
        return "sh3f", [src]
    if src.is_dir() and (sh3fs := sorted(src.rglob("*.sh3f"))):
        return "sh3f", sh3fs
    if src.is_dir() or (src.is_file() and ".tar" in src.name):
        return "aubry", []
    raise DataError(f"--source {src}: expected a {DEB_PACKAGE} .deb, a .sh3f catalog or a "
                    "folder of them, or Aubry et al.'s rendered_chairs folder or .tar")


def prepare(out: str | Path | None = None, source: str | Path | None = None,
            profile: str = "quick", *, size: int | None = None, max_models: int | None = -1,
            seed: int | None = None, deb_sha256: str | None = DEB_SHA256,
            sh3f_sha256: Mapping[str, str] | None = SH3F_SHA256,
            log: Callable[[str], None] = print) -> Path:
    """Prepare the chairs (Kulkarni et al. 2015 §4.2) into ``out`` (``<data>/chairs/<profile>``).

    ``source``: None (the pinned ``sweethome3d-furniture`` .deb from the shared cache,
    ``GENREPRO_CACHE`` else ``~/.cache/genrepro``, else fetched there with ``apt-get
    download``), a .deb, a .sh3f or a folder of them, or Aubry et al. 2014's
    ``rendered_chairs`` folder / .tar. ``size``, ``max_models`` (-1: the profile's; None:
    all) and ``seed`` override the profile's ``chairs`` settings. Nothing is left at
    ``out`` unless every model loads and renders.
    """
    from genrepro import profiles

    cfg = profiles.get(NAME, profile)
    size = int(size or cfg.image_size)
    max_models = cfg.max_models if max_models == -1 else max_models
    if max_models is not None and max_models < 1:
        raise ValueError(f"max_models must be a positive integer or None, not {max_models}")
    seed = int(cfg.seed if seed is None else seed)
    out = Path(out) if out is not None else data_dir() / NAME / profile
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="chairs-prep-") as work:
        if source is None:
            src = fetch_deb(deb_sha256 or DEB_SHA256)
            kind, sh3fs = "deb", extract_deb_sh3f(src, Path(work))
        elif not (src := Path(source)).exists():
            raise DataError(f"--source {src}: no such file or folder")
        else:
            kind, sh3fs = _source_kind(src, Path(work), deb_sha256)
        if kind == "aubry":
            images, meta, info = aubry_models(src, size, max_models, seed, log)
        else:
            images, meta, info = sweethome3d_models(
                sh3fs, size, max_models, seed, sh3f_sha256 if kind == "deb" else None, log,
                cfg.supersample)
    is_test = split_models(len(meta), float(cfg.test_fraction), seed)
    for m, t in zip(meta, is_test, strict=True):
        m["split"] = "test" if t else "train"
    payload = {"images": images, "is_test": is_test,
               "azimuth": np.asarray(info.pop("view_azimuth"), np.float32),
               "elevation": np.asarray(info.pop("view_elevation"), np.float32),
               "model_ids": np.array([m["id"] for m in meta]),
               "categories": np.array([m["category"] for m in meta])}
    render_info = {"background": "white border-connected region set to 0, gray kept"} \
        if kind == "aubry" else {"albedo": f"{ALBEDO_FLOOR} + {1 - ALBEDO_FLOOR} * luminance",
                                 "light_camera_frame_deg": LIGHT, "fill": FILL,
                                 "supersample": cfg.supersample}
    with atomic_dir(out) as tmp:
        np.savez_compressed(tmp / "chairs.npz", **payload)
        write_json(tmp / "manifest.json", {
            "dataset": "DC-IGN chairs (Kulkarni et al. 2015 §4.2; views of Aubry et al. 2014)",
            "source": {"kind": kind, "path": str(src.resolve()),
                       "sha256": sha256_file(src) if src.is_file() else None,
                       "package": f"{DEB_PACKAGE}={DEB_VERSION}" if kind == "deb" else None},
            **info, "profile": profile, "image_size": size, "render": render_info,
            "images_shape": list(images.shape), "dtype": "uint8",
            "view_order": "elevation-major: view = e * n_azimuths + a",
            "chosen_per_category": dict(Counter(m["category"] for m in meta)),
            "split": {"test_fraction": float(cfg.test_fraction), "seed": seed, "unit": "model",
                      "train": int((~is_test).sum()), "test": int(is_test.sum())},
            "licenses": dict(Counter(m["license"] for m in meta)), "models": meta,
            "npz_sha256": sha256_file(tmp / "chairs.npz"),
            "prepare_seconds": round(time.time() - t0, 1),
            "prepared": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    log(f"[chairs] wrote {out}: {images.shape[0]} models × {images.shape[1]} views at "
        f"{size}×{size} ({int(is_test.sum())} test models) in {time.time() - t0:.0f} s")
    return out


def load_chairs(split: str = "train", profile: str = "quick",
                path: str | Path | None = None) -> Chairs:
    """Load prepared chairs (Kulkarni et al. 2015 §4.2) of ``profile`` (or from ``path``):
    ``split`` "train", "test" (whole held-out models) or "all". Raises
    :class:`DataMissingError` naming ``python data_prep/chairs.py --profile P`` when absent."""
    from genrepro.profiles import check_profile

    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}")
    folder = Path(path) if path is not None else data_dir() / NAME / check_profile(profile)
    npz, manifest = folder / "chairs.npz", folder / "manifest.json"
    if not (npz.is_file() and manifest.is_file()):
        raise DataMissingError("chairs", folder, f"{PREPARE_COMMAND} --profile {profile}")
    with np.load(npz) as f:
        d = {k: f[k] for k in f.files}
    keep = np.ones(len(d["is_test"]), bool) if split == "all" else d["is_test"] == (split == "test")
    return Chairs(d["images"][keep], d["azimuth"], d["elevation"], d["model_ids"][keep],
                  d["categories"][keep], json.loads(manifest.read_text()))
