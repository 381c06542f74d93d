"""Preparation of the faces data (``data_prep/faces.py``; Kulkarni et al. 2015 §4.1).

Sources of the mesh, in order: ``bfm`` (the user's Basel Face Model 2009 ``.mat``), else
the MediaPipe canonical face mesh from npm ``@mediapipe/face_mesh@0.4.1657299874``
(Apache-2.0), fetched with ``npm pack`` (never installed) or read from ``source`` (the
package's ``.tgz``, or a folder holding ``face_mesh_solution_packed_assets.data`` and its
loader JS). The archive and the ``.data`` file are checked against pinned SHA-256s.

Writes ``<data>/faces/`` atomically: ``face_model.npz``, ``test_batches_<profile>.npz``,
``flat_faces_<profile>.npz`` and ``manifest.json``. Files of the other profile are kept when
the model is unchanged.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch

from genrepro import profiles
from genrepro.data import face_model as fm
from genrepro.data import faces
from genrepro.data.prep import (
    DataError,
    atomic_dir,
    npm_pack,
    sha256_bytes,
    sha256_file,
    verify_sha256,
    write_json,
)
from genrepro.paths import data_dir

NPM_SPEC = "@mediapipe/face_mesh@0.4.1657299874"
NPM_ARCHIVE_SHA256 = "c08a7e0742a326285da666cf81d77c8b6f3a181a2ee948cadaf166008e0d3bc7"
DATA_FILE = "face_mesh_solution_packed_assets.data"
DATA_SHA256 = "dbe5905c582c0462cdaea17e7e6ecea92edaa8cccc515c5e2e7291f2cbb5fb99"
LOADER_FILE = "face_mesh_solution_packed_assets_loader.js"
GEOMETRY_ASSET = "geometry_pipeline_metadata_landmarks.binarypb"
LICENSE = "Apache-2.0 (MediaPipe canonical face mesh, npm @mediapipe/face_mesh)"


def _read_tgz(archive: Path) -> tuple[bytes, str]:
    verify_sha256(archive.read_bytes(), NPM_ARCHIVE_SHA256, f"npm archive {NPM_SPEC} ({archive})")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            data = tar.extractfile(f"package/{DATA_FILE}").read()    # type: ignore[union-attr]
            loader = tar.extractfile(f"package/{LOADER_FILE}").read()  # type: ignore[union-attr]
    except (KeyError, AttributeError, tarfile.TarError, OSError, EOFError) as e:
        raise DataError(f"npm archive {archive}: cannot read {DATA_FILE} ({e})") from e
    return data, loader.decode("utf-8", "replace")


def fetch_mediapipe_mesh(source: str | Path | None = None, workdir: str | Path | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """The canonical face mesh (xyz, uv, triangles) + provenance (Kulkarni et al. §4.1 data).

    ``source``: the npm ``.tgz`` or a folder with the ``.data`` and loader files; default:
    ``npm pack`` into ``workdir`` (a temporary folder). Raises :class:`DataError` on a
    checksum mismatch or an unreadable asset.
    """
    with tempfile.TemporaryDirectory(prefix="faces-fetch-") as tmp:
        if source is None:
            archive = npm_pack(NPM_SPEC, workdir or tmp)
            data, loader = _read_tgz(archive)
            where = f"npm:{NPM_SPEC}"
        elif Path(source).is_dir():
            d = Path(source)
            if not (d / DATA_FILE).is_file() or not (d / LOADER_FILE).is_file():
                raise DataError(f"--source {d}: needs {DATA_FILE} and {LOADER_FILE}")
            data, loader, where = (d / DATA_FILE).read_bytes(), (d / LOADER_FILE).read_text(), f"dir:{d}"
        elif Path(source).is_file():
            data, loader = _read_tgz(Path(source))
            where = f"file:{Path(source).resolve()}"
        else:
            raise DataError(f"--source {source}: no such file or folder")
    verify_sha256(data, DATA_SHA256, f"{DATA_FILE} from {where}")
    table = fm.packed_asset_table(loader)
    names = [n for n in table if n.endswith(GEOMETRY_ASSET)]
    if len(names) != 1:
        raise DataError(f"{LOADER_FILE}: no single {GEOMETRY_ASSET} entry (found {names})")
    start, end = table[names[0]]
    if not 0 <= start < end <= len(data):
        raise DataError(f"{LOADER_FILE}: offsets {start}..{end} outside {DATA_FILE}")
    blob = data[start:end]
    xyz, uv, tri = fm.parse_geometry_metadata(blob)
    if xyz.shape != (468, 3) or tri.shape != (898, 3):
        raise DataError(f"canonical mesh has {len(xyz)} vertices / {len(tri)} triangles, "
                        "expected 468 / 898")
    prov = {"source": where, "npm": NPM_SPEC, "license": LICENSE,
            "sha256": {"npm_archive": NPM_ARCHIVE_SHA256, DATA_FILE: DATA_SHA256,
                       names[0]: sha256_bytes(blob)}}
    return xyz, uv, tri, prov


def build_model(bfm: str | Path | None = None, source: str | Path | None = None) -> tuple[fm.FaceModel, dict]:
    """The face model + its manifest entry: BFM if given, else MediaPipe + hand-built bases."""
    if bfm is not None:
        model = fm.load_bfm(bfm)
        return model, {"source": model.source, "sha256": {Path(bfm).name: sha256_file(bfm)},
                       "license": "Basel Face Model 2009 licence (the user's own copy; "
                                  "do not redistribute)", **model.info}
    xyz, _uv, tri, prov = fetch_mediapipe_mesh(source)
    model = fm.build_mediapipe_model(xyz, tri, source=prov["source"])
    return model, {**prov, **model.info}


def _save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> str:
    np.savez_compressed(path, **arrays)
    return sha256_file(path)


def test_batch_arrays(model: fm.FaceModel, size: int, n_batches: int,
                      device: torch.device | str | None = None, light_frame: str = "camera") -> dict[str, np.ndarray]:
    """Test batches 0…n−1 of every kind (split "test", ``faces.TEST_SEED``) at ``size``, as
    the arrays of ``test_batches_<profile>.npz``: ``"<kind>/images"`` uint8 ``(n, 20, size,
    size)`` and ``"<kind>/<factor>"``. Equal to ``FaceBatches(...).batch(kind, i)`` for every
    ``i``, rendered 25 batches at a time; ``light_frame`` as ``FaceBatches``'s."""
    gen = faces.FaceBatches(model, size, "test", faces.TEST_SEED, device=device, light_frame=light_frame)
    arrays: dict[str, np.ndarray] = {}
    for kind in faces.KINDS:
        parts = [gen.sample(kind, i) for i in range(n_batches)]
        for f in ("azimuth", "elevation", "light", "shape_coef", "albedo_coef"):
            arrays[f"{kind}/{f}"] = np.stack([p[f] for p in parts])
        images = []
        for i in range(0, n_batches, 25):
            flat = {f: arrays[f"{kind}/{f}"][i:i + 25].reshape(
                -1, *arrays[f"{kind}/{f}"].shape[2:]) for f in parts[0]}
            img = gen.render(flat["shape_coef"], flat["albedo_coef"], flat["azimuth"], flat["elevation"], flat["light"])
            images.append(faces.to_uint8(img).reshape(-1, faces.BATCH_SIZE, size, size))
        arrays[f"{kind}/images"] = np.concatenate(images)
    return arrays


def prepare(profile: str = "quick", out: str | Path | None = None, bfm: str | Path | None = None,
            source: str | Path | None = None, settings: Mapping | None = None,
            device: torch.device | str | None = None,
            log: Callable[[str], None] = print) -> Path:
    """Prepare ``<data>/faces`` for ``profile`` (Kulkarni et al. 2015 §4.1 data); returns it.

    ``settings`` overrides ``profiles.get("faces", profile)`` entries (tests use tiny sizes).
    Nothing is left at ``out`` unless everything succeeded.
    """
    cfg = {**profiles.get("faces", profile), **(settings or {})}
    out = Path(out) if out is not None else data_dir() / faces.NAME
    t0 = time.time()
    model, model_entry = build_model(bfm, source)
    log(f"[faces] model: {model_entry['source']} ({len(model.vertices)} vertices, "
        f"{len(model.faces)} faces, {model.n_shape} shape / {model.n_albedo} albedo modes)")
    old = None
    if (out / "manifest.json").is_file():
        try:
            old = faces.load_manifest(out)
        except (ValueError, OSError):
            old = None
    with atomic_dir(out) as tmp:
        model_sha = _save_npz(tmp / "face_model.npz", model.arrays())
        manifest = {"dataset": "faces", "label": "rendered morphable faces (DC-IGN data; "
                    + faces.STAND_IN_LABEL + " for the GAN chapter)",
                    "model": {**model_entry, "file": "face_model.npz", "npz_sha256": model_sha},
                    "license": model_entry["license"], "profiles": {}}
        if old and old.get("model", {}).get("npz_sha256") == model_sha:
            for prof, entries in old.get("profiles", {}).items():
                if prof != profile and all((out / e["file"]).is_file() for e in entries.values()):
                    for e in entries.values():
                        shutil.copy2(out / e["file"], tmp / e["file"])
                    manifest["profiles"][prof] = entries
        size, n_batches = int(cfg["image_size"]), int(cfg["test_batches_per_kind"])
        arrays = test_batch_arrays(model, size, n_batches, device)
        test_file = f"test_batches_{profile}.npz"
        test_sha = _save_npz(tmp / test_file, arrays)
        n_flat, flat_size = int(cfg["flat_n"]), int(cfg["flat_size"])
        flat = faces.flat_faces(n_flat, faces.TEST_SEED, flat_size, model=model, device=device)
        flat_file = f"flat_faces_{profile}.npz"
        flat_sha = _save_npz(tmp / flat_file, flat)
        manifest["profiles"][profile] = {
            "test_batches": {"file": test_file, "sha256": test_sha, "image_size": size,
                             "batches_per_kind": n_batches, "batch_size": faces.BATCH_SIZE,
                             "kinds": list(faces.KINDS), "split": "test", "seed": faces.TEST_SEED},
            "flat_faces": {"file": flat_file, "sha256": flat_sha, "n": n_flat,
                           "image_size": flat_size, "label": faces.STAND_IN_LABEL,
                           "seed": faces.TEST_SEED}}
        manifest["factor_ranges_deg"] = {
            "azimuth": faces.AZIMUTH_RANGE, "elevation": faces.ELEVATION_RANGE,
            "light_azimuth": faces.LIGHT_AZIMUTH_RANGE, "light_elevation": faces.LIGHT_ELEVATION,
            "flat_azimuth": faces.FLAT_AZIMUTH_RANGE, "flat_elevation": faces.FLAT_ELEVATION_RANGE,
            "flat_light_azimuth": faces.FLAT_LIGHT_AZIMUTH_RANGE}
        manifest["prepared"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json(tmp / "manifest.json", manifest)
    log(f"[faces] wrote {out} (profile {profile}: {4 * n_batches} test batches of "
        f"{size}x{size}, {n_flat} flat {flat_size}x{flat_size} faces) in {time.time() - t0:.1f} s")
    return out
