"""Aubry et al. 2014's ``rendered_chairs`` as a source of the DC-IGN chairs (Kulkarni et al.
2015 §4.2), the dataset the paper used: 1393 CAD chairs from 3D Warehouse, each rendered
on a white background at 31 azimuths × 2 elevations (20°, 30°), one PNG per view under
``rendered_chairs/<id>/renders/image_<i>_p<elev>_t<azim>_r<dist>.png``.

:func:`aubry_models` reads the folder or its ``.tar`` (``--source``), masks the white
background to black (:func:`aubry_image`), crops each chair to one square over all its
views and resizes it; :mod:`genrepro.data.chairs` drives it and writes the dataset.
"""

from __future__ import annotations

import contextlib
import io
import lzma
import re
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from genrepro.data.prep import DataError

_AUBRY = re.compile(r"(?:^|/)([^/]+)/renders/image_(\d+)_p(\d+)_t(\d+)_r(\d+)\.png$")
_ARCHIVE_ERRORS = (OSError, ValueError, EOFError, tarfile.TarError, lzma.LZMAError, zlib.error)


def aubry_image(rgb: np.ndarray, white: int = 245) -> np.ndarray:
    """One Aubry et al. 2014 render (white background) → uint8 grayscale, black background.

    The background is the near-white region (every channel ≥ ``white``) connected to the
    image border: it is set to 0, and the chair keeps its own gray level (luminance), not
    inverted, so white parts enclosed by the chair survive.
    """
    from scipy import ndimage

    gray = np.asarray(rgb[..., :3], float) @ np.array([0.299, 0.587, 0.114])
    label, _ = ndimage.label(rgb[..., :3].min(-1) >= white)
    border = np.unique(np.concatenate([label[0], label[-1], label[:, 0], label[:, -1]]))
    return np.where(np.isin(label, border[border > 0]), 0, np.round(gray)).astype(np.uint8)


def aubry_models(source: Path, size: int, max_models: int | None, seed: int,
                 log: Callable[[str], None]) -> tuple[np.ndarray, list[dict], dict]:
    """Aubry et al. 2014's ``rendered_chairs`` (folder or .tar) → uint8 (M, V, size, size).

    Each chair is cropped to the square around the union bounding box of its foreground
    over all its views (one scale per chair across views) plus a 2% margin, then resized
    with PIL (Lanczos). Chairs lacking a view of the first chair's view set are skipped
    and listed in the manifest. A seeded random subset of ``max_models`` is kept.
    """
    from PIL import Image

    with contextlib.ExitStack() as stack:
        if source.is_dir():
            files = {str(p.relative_to(source)): p for p in source.rglob("*.png")}
            read = lambda key: files[key].read_bytes()  # noqa: E731
        else:
            try:
                tar = stack.enter_context(tarfile.open(source, "r:*"))
                files = {m.name: m for m in tar.getmembers() if m.isfile()}
            except _ARCHIVE_ERRORS as e:
                raise DataError(f"--source {source}: not a readable folder or tar ({e})") from e
            read = lambda key: tar.extractfile(files[key]).read()  # noqa: E731
        chairs: dict[str, dict[tuple[int, int], str]] = {}
        for key in files:
            if m := _AUBRY.search(key.replace("\\", "/")):
                chairs.setdefault(m[1], {})[(int(m[3]), int(m[4]))] = key
        if not chairs:
            raise DataError(f"--source {source}: no chairs found (expected rendered_chairs/<id>/"
                            "renders/image_<i>_p<elev>_t<azim>_r<dist>.png); pass the folder or "
                            ".tar of Aubry et al. 2014's rendered_chairs, or omit --source.")
        ids = sorted(chairs)
        views = sorted(chairs[ids[0]])
        complete = [c for c in ids if set(chairs[c]) >= set(views)]
        chosen = [complete[i] for i in np.random.default_rng(seed).permutation(len(complete))
                  [:max_models]]
        images = []
        for k, cid in enumerate(chosen):
            try:
                stack_ = np.stack([aubry_image(np.asarray(Image.open(io.BytesIO(
                    read(chairs[cid][view]))).convert("RGB"))) for view in views])
            except (SyntaxError, *_ARCHIVE_ERRORS) as e:
                raise DataError(f"--source {source}: chair {cid} has an unreadable PNG ({e}); "
                                "the copy is corrupt, fetch it again") from e
            ys, xs = np.nonzero(stack_.max(0))
            if len(ys) == 0:
                raise DataError(f"--source {source}: chair {cid} has only blank images")
            half = int(np.ceil(max(np.ptp(ys), np.ptp(xs)) / 2 * 1.02)) + 1
            y0, x0 = round((ys.min() + ys.max()) / 2), round((xs.min() + xs.max()) / 2)
            crops = np.pad(stack_, ((0, 0), (half, half), (half, half)))[
                :, y0:y0 + 2 * half, x0:x0 + 2 * half]
            images.append(np.stack([np.asarray(Image.fromarray(c).resize(
                (size, size), Image.Resampling.LANCZOS)) for c in crops]))
            log(f"[chairs] {k + 1}/{len(chosen)} {cid}")
    meta = [{"id": c, "name": c, "category": "chair", "archive": source.name,
             "author": "3D Warehouse model, rendered by Aubry et al. 2014",
             "license": "research use, see Aubry et al. 2014 (seeing3Dchairs)"} for c in chosen]
    info = {"found_per_category": {"chair": len(ids)},
            "skipped_incomplete": sorted(set(ids) - set(complete)),
            "view_azimuth": [float(t) for _, t in views],
            "view_elevation": [float(p) for p, _ in views]}
    return np.stack(images), meta, info
