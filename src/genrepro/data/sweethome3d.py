"""SweetHome3D furniture as the default source of the DC-IGN chairs (Kulkarni et al. 2015 §4.2).

The paper used Aubry et al. 2014's 1393 rendered CAD chairs; this module instead reads the
seating models (chairs, armchairs, stools, sofas, benches) of Debian's
``sweethome3d-furniture`` 1.8-1 (CC0 / CC-BY-3.0 models): the ``.deb`` is fetched with
``apt-get download`` (never installed) through the shared raw-archive cache
(:func:`genrepro.data.prep.cached_fetch`: ``GENREPRO_CACHE``, else ``~/.cache/genrepro``,
re-verified on every use), its ``.sh3f`` catalogs (zips holding a Java ``.properties``
catalog and OBJ models) are extracted in Python and checked against pinned SHA-256s, and
each model is rendered with :func:`genrepro.render.render` at Aubry et al. 2014's 62 views
(:func:`view_grid`). :mod:`genrepro.data.chairs` drives it and writes the dataset.
"""

from __future__ import annotations

import contextlib
import io
import lzma
import re
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrepro.data.prep import DataError, apt_download, cached_fetch, sha256_file

PREPARE_COMMAND = "python data_prep/chairs.py"  # the script that drives this module
DEB_PACKAGE, DEB_VERSION = "sweethome3d-furniture", "1.8-1"
DEB_FILE = f"{DEB_PACKAGE}_{DEB_VERSION}_all.deb"
DEB_SHA256 = "3ccb90c63f9525e887a767b9cd5c8b6933b8b6b2973a615a5359ee68a2118668"
SH3F_DIR = "usr/share/sweethome3d/furniture/"
SH3F_SHA256: dict[str, str] = {  # the catalogs inside the pinned .deb, checked once extracted
    "BlendSwap-CC-0.sh3f": "7ef093fe70cedbb160bdb532d86a84580459635e34130c16777f549eba1993dc",
    "BlendSwap-CC-BY.sh3f": "29ae78937b4d5dbe93db74067817a984fa411f017b007fd666bc40368bdb0c83",
    "KatorLegaz.sh3f": "f512443b5d3a6903497573095f971f44334b3165ab32182133051fa9487764a6",
    "Reallusion.sh3f": "dd553207876ccec6372dde7aaea6b2dcf2d631997fcdb8a9856a639e0db9aa9b",
    "Scopia.sh3f": "b4505451b1e8ab339c101c0afddfef4e1a07b95aa8c821c61ec41487afd43850",
}
N_AZIMUTHS, ELEVATIONS = 31, (20.0, 30.0)  # Aubry et al. 2014: 31 × 2 = 62 views
ALBEDO_FLOOR = 0.35     # albedo = floor + (1 - floor) * luminance: dark wood stays visible
LIGHT = (-30.0, 30.0)   # light azimuth/elevation in the camera frame (upper left), as a head light
FILL = 0.9              # a model's widest view spans 90% of the image (cf. Aubry's crops)
CATEGORIES = ("armchair", "stool|puff|pouf", "sofa|couch", "bench")  # by name, else "chair"
_SEAT = re.compile(r"chair|stool|sofa|couch|bench|puff|pouf|ottoman|lounge|\bseat\b", re.I)
_NOT_SEAT = re.compile(r"wheel|work|abdominal|horse|\bbed\b|opened|\bleon\b", re.I)
_REFETCH = "the archive is corrupt or incomplete; fetch it again or pass --source with a good copy"
_ARCHIVE_ERRORS = (OSError, ValueError, EOFError, tarfile.TarError, lzma.LZMAError, zlib.error)


@dataclass(frozen=True)
class CatalogEntry:
    """One model of a SweetHome3D catalog: ``model`` is its OBJ path in the .sh3f zip,
    ``rotation`` its 3×3 ``modelRotation`` (applied as R @ v), ``size_cm`` (w, h, d) = (x, y, z)."""

    id: str
    name: str
    category: str
    tags: str
    creator: str
    license: str
    model: str
    rotation: np.ndarray | None
    size_cm: tuple[float, float, float]
    archive: str


def view_grid(n_azimuths: int = N_AZIMUTHS, elevations: Iterable[float] = ELEVATIONS
              ) -> tuple[np.ndarray, np.ndarray]:
    """Aubry et al. 2014's views, elevation-major: azimuths every 360/n°, each elevation."""
    el = np.asarray(list(elevations), dtype=np.float32)
    az = np.arange(n_azimuths, dtype=np.float32) * np.float32(360.0 / n_azimuths)
    return np.tile(az, len(el)), np.repeat(el, n_azimuths)


def parse_properties(text: str) -> dict[str, str]:
    """Parse a Java ``.properties`` file (comments, continuation lines, ``\\uXXXX`` escapes)."""
    out: dict[str, str] = {}
    unescape = lambda s: re.sub(r"\\u([0-9a-fA-F]{4})", lambda u: chr(int(u[1], 16)), s)  # noqa
    for line in re.sub(r"(?<!\\)\\\n\s*", "", text).splitlines():
        line = line.strip()
        if line and line[0] not in "#!" and (m := re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)",
                                                           line)):
            out[unescape(m[1]).replace("\\", "")] = unescape(m[2]).replace("\\", "")
    return out


def parse_catalog(text: str, archive: str) -> list[CatalogEntry]:
    """The entries of a ``PluginFurnitureCatalog.properties``; the catalog-wide ``license``
    applies where an entry has no ``license#i`` of its own."""
    p = parse_properties(text)
    entries = []
    for i in sorted({int(k[3:]) for k in p if re.fullmatch(r"id#\d+", k)}):
        g = lambda key, default="", i=i: p.get(f"{key}#{i}", default)  # noqa: E731
        try:
            rot = np.array(g("modelRotation").split(), float).reshape(3, 3) \
                if g("modelRotation") else None
            size = (float(g("width", "0")), float(g("height", "0")), float(g("depth", "0")))
        except ValueError as e:
            raise DataError(f"{archive}: entry {g('id')} has a bad size or rotation ({e})") from e
        entries.append(CatalogEntry(g("id"), g("name"), g("category"), g("tags"),
                                    g("creator", g("author")), g("license", p.get("license", "")),
                                    g("model").lstrip("/"), rot, size, archive))
    return entries


def seat_category(entry: CatalogEntry) -> str | None:
    """Our category of a seating model (chair, armchair, stool, sofa, bench) from its name
    and tags, or ``None`` if it is not a seat (cars, wheelchairs, workbenches, beds, ...)."""
    if entry.category in ("Vehicles", "Characters") or _NOT_SEAT.search(entry.name) \
            or not _SEAT.search(f"{entry.name} {entry.tags}"):
        return None
    return next((p.split("|")[0] for p in CATEGORIES if re.search(p, entry.name, re.I)), "chair")


def short_license(text: str) -> str:
    """A short licence tag (CC0-1.0, CC-BY-3.0-US, CC-BY-3.0) from a catalog's licence text."""
    t = text.lower()
    if any(k in t for k in ("public domain", "zero", "cc0", "cc-0")):
        return "CC0-1.0"
    if "attribution" in t or "cc-by" in t:
        return "CC-BY-3.0-US" if "united states" in t else "CC-BY-3.0"
    return text or "unknown"


def _part_luminance(geom) -> float:  # noqa: ANN001 - a trimesh.Trimesh
    """Luminance of a part's material: texture mean colour, else diffuse (Kd), else 0.7."""
    mat = getattr(geom.visual, "material", None)
    first = lambda *xs: next((x for x in xs if x is not None), None)  # noqa: E731
    img = first(getattr(mat, "image", None), getattr(mat, "baseColorTexture", None))
    if img is not None:
        col = np.asarray(img.convert("RGB"), float).reshape(-1, 3).mean(0)
    else:
        col = first(getattr(mat, "diffuse", None), getattr(mat, "baseColorFactor", None))
        if col is None and getattr(geom.visual, "kind", None) in ("vertex", "face"):
            col = np.asarray(geom.visual.vertex_colors, float).mean(0)
        if col is None:
            return 0.7
    col = np.asarray(col, float)[:3]
    return float(np.clip(col / 255 if col.max() > 1 else col, 0, 1) @ (0.2126, 0.7152, 0.0722))


def load_model(zf: zipfile.ZipFile, entry: CatalogEntry, work: Path
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Load one catalog model as ``(vertices, faces, albedo)`` ready for the renderer.

    The model's folder is extracted to ``work``; its parts are merged, each part's material
    made a grayscale albedo; ``modelRotation`` and the catalog's width/height/depth are
    applied as SweetHome3D does (y up, front towards +z); the result is centred and scaled
    into the unit sphere. Raises :class:`DataError` for a missing, unreadable or empty mesh.
    """
    import trimesh

    from genrepro.render.mesh import normalize_to_unit_sphere

    where = f"model {entry.model!r} ({entry.name}) in {entry.archive}"
    folder = entry.model.rsplit("/", 1)[0] + "/" if "/" in entry.model else ""
    names = [n for n in zf.namelist() if n.startswith(folder) and not n.endswith("/")
             and ".." not in n.split("/") and (folder or "/" not in n)]
    if entry.model not in names:
        raise DataError(f"{where}: the file is missing; {_REFETCH}.")
    try:
        for n in names:
            (work / n).parent.mkdir(parents=True, exist_ok=True)
            (work / n).write_bytes(zf.read(n))
        scene = trimesh.load(str(work / entry.model), force="scene")
    except Exception as e:  # zipfile and trimesh raise many types for bad input
        raise DataError(f"{where}: unreadable ({type(e).__name__}: {e}); {_REFETCH}.") from e
    verts, faces, albedo, offset = [], [], [], 0
    for node in scene.graph.nodes_geometry:
        transform, gname = scene.graph[node]
        geom = scene.geometry[gname]
        if isinstance(geom, trimesh.Trimesh) and len(geom.faces):
            verts.append(trimesh.transform_points(np.asarray(geom.vertices, float), transform))
            faces.append(np.asarray(geom.faces, np.int64) + offset)
            lum = _part_luminance(geom)
            albedo.append(np.full(len(geom.vertices), ALBEDO_FLOOR + (1 - ALBEDO_FLOOR) * lum))
            offset += len(geom.vertices)
    if not faces or not np.isfinite(v := np.concatenate(verts)).all():
        raise DataError(f"{where}: the mesh is empty or has non-finite vertices; {_REFETCH}.")
    if entry.rotation is not None:
        v = v @ entry.rotation.T
    ext = v.max(0) - v.min(0)
    if all(s > 0 for s in entry.size_cm) and (ext > 0).all():
        v = v * (np.asarray(entry.size_cm) / ext)   # SweetHome3D resizes to the catalog size
    try:
        v = normalize_to_unit_sphere(v)
    except ValueError as e:
        raise DataError(f"{where}: {e}") from e
    return v.astype(np.float32), np.concatenate(faces), np.concatenate(albedo).astype(np.float32)


def render_views(vertices: np.ndarray, faces: np.ndarray, albedo: np.ndarray, size: int,
                 azimuth: np.ndarray, elevation: np.ndarray, supersample: int = 1
                 ) -> tuple[np.ndarray, float]:
    """Render one model at every view: uint8 ``(V, size, size)`` and the ``fov_scale`` used.

    One zoom per model frames it as Aubry's crops do: its widest view fills ``FILL`` of the
    image, the others keep the same scale. The light is fixed in the camera frame (``LIGHT``).
    ``supersample`` k renders k× larger and averages k×k blocks (anti-aliasing).
    """
    import torch

    from genrepro.device import default_device
    from genrepro.render import render, view_rotation

    az, el = torch.as_tensor(azimuth), torch.as_tensor(elevation)
    cam = torch.as_tensor(vertices, dtype=torch.float32) @ view_rotation(az, el).float().mT
    fov, k = float(cam[..., :2].abs().max()) / FILL, int(supersample)
    img = render(vertices, faces, albedo, az, el, LIGHT[0], size=size * k,
                 light_elevation=LIGHT[1], fov_scale=fov, device=default_device())
    img = img.reshape(len(az), size, k, size, k).mean((2, 4))
    return (img.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy(), fov


# --- the .deb and its catalogs ---------------------------------------------------------------

def extract_deb_sh3f(deb: Path, dest: Path) -> list[Path]:
    """Extract the ``.sh3f`` catalogs of a ``.deb`` (an ``ar`` archive holding
    ``data.tar.*``) into ``dest`` in Python; :class:`DataError` if it is corrupt."""
    bad = f"{deb}: not a readable .deb archive (truncated or corrupt); delete it and fetch it again"
    out: list[Path] = []
    try:
        with open(deb, "rb") as fh:
            if fh.read(8) != b"!<arch>\n":
                raise DataError(bad)
            while header := fh.read(60):
                name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
                if name.startswith("data.tar"):
                    with tarfile.open(fileobj=io.BytesIO(fh.read(size)), mode="r:*") as tar:
                        for m in tar:
                            if m.isfile() and m.name.lstrip("./").startswith(SH3F_DIR) \
                                    and m.name.endswith(".sh3f"):
                                with tar.extractfile(m) as src, \
                                        open(dest / Path(m.name).name, "wb") as dst:
                                    shutil.copyfileobj(src, dst)
                                out.append(dest / Path(m.name).name)
                    break
                fh.seek(size + (size & 1), io.SEEK_CUR)
    except _ARCHIVE_ERRORS as e:
        raise DataError(f"{bad} ({type(e).__name__}: {e})") from e
    if not out:
        raise DataError(f"{deb}: no {SH3F_DIR}*.sh3f catalogs inside; is it {DEB_PACKAGE}?")
    return sorted(out)


def fetch_deb(expected: str = DEB_SHA256) -> Path:
    """The pinned ``.deb`` from the shared raw-archive cache (``GENREPRO_CACHE``, else
    ``~/.cache/genrepro``) if it verifies, else fetched with ``apt-get download``, verified
    and cached (:func:`genrepro.data.prep.cached_fetch`); :class:`DataError` on a mismatch."""
    return cached_fetch(DEB_FILE, expected, lambda tmp: apt_download(DEB_PACKAGE, tmp))


def check_sha256(path: Path, expected: str | None) -> str:
    """``path``'s SHA-256; :class:`DataError` unless it is ``expected`` (None: any)."""
    if (got := sha256_file(path)) != expected and expected is not None:
        raise DataError(f"{path}: checksum mismatch (sha256 {got}, expected {expected}); it is "
                        f"corrupt, truncated or another version. Delete it and run "
                        f"{PREPARE_COMMAND} again, or pass --source with a good copy.")
    return got


def sweethome3d_models(sh3fs: list[Path], size: int, max_models: int | None, seed: int,
                       sh3f_sha256: Mapping[str, str] | None, log: Callable[[str], None],
                       supersample: int = 1) -> tuple[np.ndarray, list[dict], dict]:
    """Pick the seating models of the catalogs (a seeded random subset of ``max_models``,
    None: all) and render each at Aubry et al. 2014's 62 views."""
    with contextlib.ExitStack() as stack:
        found: list[tuple[CatalogEntry, str, zipfile.ZipFile]] = []
        shas = {p.name: check_sha256(p, (sh3f_sha256 or {}).get(p.name)) for p in sh3fs}
        for path in sh3fs:
            try:
                zf = stack.enter_context(zipfile.ZipFile(path))
                text = zf.read("PluginFurnitureCatalog.properties").decode("latin-1")
            except KeyError as e:
                raise DataError(f"{path}: no PluginFurnitureCatalog.properties inside; not a "
                                "SweetHome3D furniture catalog") from e
            except (zipfile.BadZipFile, *_ARCHIVE_ERRORS) as e:
                raise DataError(f"{path}: not a readable .sh3f (zip) archive ({e}); "
                                f"{_REFETCH}.") from e
            found += [(e, c, zf) for e in parse_catalog(text, path.name)
                      if (c := seat_category(e)) is not None]
        if not found:
            raise DataError("no seating models (chairs, armchairs, stools, sofas, benches) in "
                            f"{', '.join(p.name for p in sh3fs)}; pass --source with the "
                            f"{DEB_PACKAGE} .deb or Aubry et al.'s rendered_chairs.")
        order = np.random.default_rng(seed).permutation(len(found))[:max_models]
        az, el = view_grid()
        images, meta = [], []
        for k, (entry, cat, zf) in enumerate(found[i] for i in order):
            with tempfile.TemporaryDirectory(prefix="chairs-model-") as work:
                v, f, a = load_model(zf, entry, Path(work))
            views, fov = render_views(v, f, a, size, az, el, supersample)
            images.append(views)
            meta.append({"id": entry.id, "name": entry.name, "category": cat,
                         "catalog_category": entry.category, "author": entry.creator,
                         "license": short_license(entry.license), "license_text": entry.license,
                         "archive": entry.archive, "model_path": entry.model,
                         "license_files": [n for n in zf.namelist() if "license" in n.lower()
                                           and n.startswith(entry.model.rsplit("/", 1)[0] + "/")],
                         "faces": int(len(f)), "fov_scale": round(fov, 4)})
            log(f"[chairs] {k + 1}/{len(order)} {entry.id} ({cat}, {len(f)} faces)")
    info = {"found_per_category": dict(Counter(c for _, c, _ in found)),
            "archives_sha256": shas, "view_azimuth": az.tolist(), "view_elevation": el.tolist()}
    return np.stack(images), meta, info
