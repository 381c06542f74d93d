"""A morphable face model for the DC-IGN face data (Kulkarni et al. 2015 §4.1).

The paper rendered faces from the Basel Face Model (BFM 2009, Paysan et al. 2009), which
needs a licence. The default here is free: the *canonical face mesh* of MediaPipe Face Mesh
(468 vertices, 898 triangles; npm ``@mediapipe/face_mesh@0.4.1657299874``, Apache-2.0),
plus hand-built bases in BFM's form: ``shape = mean + sum_k c_k * shape_basis[k]`` and
``albedo = albedo_mean + sum_k d_k * albedo_basis[k]`` with ``c, d ~ N(0, 1)``.

* shape basis (:data:`N_SHAPE_MODES` modes): 14 named, mirror-symmetric deformations
  (face width/height/depth, nose, chin, jaw, cheeks, brows, lips, eyes...) and smooth random
  symmetric fields (Gaussian RBF mixtures), each with a fixed standard deviation, plus a
  small asymmetric field;
* albedo basis (:data:`N_ALBEDO_MODES` modes): skin tone, brow, lip, eye-region, cheek,
  gradients and smooth random symmetric fields; the mean albedo is skin-grey with darker
  eyes, brows and lips (located from MediaPipe landmark indices).

With the user's BFM 2009 file, :func:`load_bfm` gives the same :class:`FaceModel` form.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genrepro.data.prep import DataError
from genrepro.render.mesh import normalize_to_unit_sphere

MODEL_RADIUS = 0.8            # the mean face fits in a sphere of this radius (render frame)
N_SHAPE_MODES = 40
N_ALBEDO_MODES = 14
BASIS_SEED = 20150601         # the hand-built bases are a fixed function of this seed

# MediaPipe face-mesh landmark indices (mediapipe/python/solutions/face_mesh_connections.py)
LIPS_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267,
              269, 270, 409]
LIPS_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312,
              311, 310, 415]
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173]
LEFT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398]
RIGHT_BROW = [46, 53, 52, 65, 55, 70, 63, 105, 66, 107]
LEFT_BROW = [276, 283, 282, 295, 285, 300, 293, 334, 296, 336]
NOSE_TIP, CHIN, FOREHEAD = 1, 152, 10


@dataclass(frozen=True)
class FaceModel:
    """A linear morphable face model (BFM form) in the renderer's frame (Kulkarni et al. §4.1).

    ``vertices`` (V, 3) mean shape, ``faces`` (F, 3), ``shape_basis`` (Ks, V, 3) and
    ``albedo_basis`` (Ka, V) already scaled by their standard deviations, ``albedo_mean`` (V,).
    """

    vertices: np.ndarray
    faces: np.ndarray
    shape_basis: np.ndarray
    albedo_mean: np.ndarray
    albedo_basis: np.ndarray
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_shape(self) -> int:
        return int(self.shape_basis.shape[0])

    @property
    def n_albedo(self) -> int:
        return int(self.albedo_basis.shape[0])

    def shape(self, coef: np.ndarray) -> np.ndarray:
        """Vertices ``(..., V, 3)`` of identities with shape coefficients ``(..., Ks)``."""
        return self.vertices + np.tensordot(np.asarray(coef, np.float32), self.shape_basis, 1)

    def albedo(self, coef: np.ndarray) -> np.ndarray:
        """Per-vertex albedo ``(..., V)`` in [0.02, 1] for albedo coefficients ``(..., Ka)``."""
        a = self.albedo_mean + np.tensordot(np.asarray(coef, np.float32), self.albedo_basis, 1)
        return np.clip(a, 0.02, 1.0)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"vertices": self.vertices, "faces": self.faces, "shape_basis": self.shape_basis,
                "albedo_mean": self.albedo_mean, "albedo_basis": self.albedo_basis}


# --- MediaPipe packed assets ----------------------------------------------------------

def packed_asset_table(loader_js: str) -> dict[str, tuple[int, int]]:
    """File name -> (start, end) byte offsets, from an Emscripten packed-assets loader JS."""
    pat = re.compile(r'"filename"\s*:\s*"([^"]+)"\s*,\s*"start"\s*:\s*(\d+)\s*,\s*"end"\s*:\s*(\d+)')
    table = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in pat.finditer(loader_js)}
    if not table:
        raise DataError("packed-assets loader: no file table found (not an Emscripten loader?)")
    return table


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf):
            raise DataError("protobuf: truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, i
        if shift > 63:
            raise DataError("protobuf: varint too long")


def proto_fields(buf: bytes) -> list[tuple[int, int, object]]:
    """Decode one protobuf message level: a list of (field number, wire type, value)."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise DataError(f"protobuf: unsupported wire type {wt} (field {num})")
        if i > len(buf) or num == 0:
            raise DataError("protobuf: truncated or corrupt message")
        out.append((num, wt, val))
    return out


def parse_geometry_metadata(buf: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical mesh from a ``GeometryPipelineMetadata`` protobuf: (xyz, uv, triangles).

    ``canonical_mesh`` is field 1 (a ``Mesh3d``: vertex_buffer = field 3, 5 floats per
    vertex x,y,z,u,v; index_buffer = field 4, uint32 triangles), packed or not.
    """
    meshes = [v for n, wt, v in proto_fields(buf) if n == 1 and wt == 2]
    if len(meshes) != 1:
        raise DataError("geometry metadata: expected one canonical_mesh (field 1)")
    floats: list[float] = []
    idx: list[int] = []
    for n, wt, v in proto_fields(meshes[0]):
        if n == 3 and wt == 5:
            floats.append(struct.unpack("<f", v)[0])
        elif n == 3 and wt == 2:
            floats.extend(np.frombuffer(v, "<f4").tolist())
        elif n == 4 and wt == 0:
            idx.append(v)
        elif n == 4 and wt == 2:
            j = 0
            while j < len(v):
                x, j = _varint(v, j)
                idx.append(x)
    if not floats or len(floats) % 5 or not idx or len(idx) % 3:
        raise DataError(f"geometry metadata: bad buffers ({len(floats)} floats, {len(idx)} indices)")
    vb = np.asarray(floats, np.float32).reshape(-1, 5)
    tri = np.asarray(idx, np.int64).reshape(-1, 3)
    if tri.max() >= len(vb):
        raise DataError("geometry metadata: triangle indices exceed the vertex count")
    return vb[:, :3].copy(), vb[:, 3:].copy(), tri


# --- hand-built bases -------------------------------------------------------------------

def _mirror_index(v: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree
    d, i = cKDTree(v).query(v * np.array([-1, 1, 1]))
    if d.max() > 1e-3 * np.ptp(v[:, 0]):
        raise DataError("face mesh is not left-right symmetric; cannot build symmetric modes")
    return i


def _symmetrize(field_: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Mirror-symmetric part of a (V,) scalar or (V, 3) vector field."""
    m = field_[mirror].copy()
    if field_.ndim == 2:
        m[:, 0] *= -1
    return 0.5 * (field_ + m)


def _bump(v: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    d2 = ((v[:, None, :] - centres[None]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * sigma**2)).sum(1)


def _rbf_field(v: np.ndarray, rng: np.random.Generator, n_centres: int, sigma: float,
               dim: int) -> np.ndarray:
    centres = v[rng.choice(len(v), n_centres, replace=False)]
    w = rng.standard_normal((n_centres, dim))
    k = np.exp(-((v[:, None] - centres[None]) ** 2).sum(-1) / (2 * sigma**2))
    f = k @ w
    return f / max(np.abs(f).max(), 1e-9)


def _unit(f: np.ndarray) -> np.ndarray:
    return f / max(np.abs(f).max(), 1e-9)


def build_mediapipe_model(xyz: np.ndarray, tri: np.ndarray, seed: int = BASIS_SEED,
                          source: str = "") -> FaceModel:
    """The default morphable face model on the MediaPipe canonical mesh (Kulkarni et al. §4.1)."""
    import torch

    from genrepro.render.mesh import vertex_normals

    v = normalize_to_unit_sphere(xyz, MODEL_RADIUS).astype(np.float64)
    mirror = _mirror_index(v)
    nrm = vertex_normals(torch.tensor(v[None], dtype=torch.float32), torch.tensor(tri))[0]
    nrm = nrm.numpy().astype(np.float64)
    # normal displacements use a heavily smoothed normal field: raw normals flip across the
    # nostrils and lips, and pushing along them folds the mesh
    h = np.ptp(v[:, 1])
    k = np.exp(-((v[:, None] - v[None]) ** 2).sum(-1) / (2 * (0.08 * h) ** 2))
    nrm = k @ nrm
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]                # h: face height, ~1.2 units
    pt = {name: v[i] for name, i in (("nose", NOSE_TIP), ("chin", CHIN), ("top", FOREHEAD))}
    mouth = v[LIPS_OUTER].mean(0)
    eyes = np.stack([v[RIGHT_EYE].mean(0), v[LEFT_EYE].mean(0)])
    brows = np.stack([v[RIGHT_BROW].mean(0), v[LEFT_BROW].mean(0)])
    cheeks = np.stack([eyes[0] + [0.0, -0.22 * h, 0.0], eyes[1] + [0.0, -0.22 * h, 0.0]])
    zero = np.zeros_like(x)
    lower = np.clip((mouth[1] + 0.1 * h - y) / (0.4 * h), 0, 1)        # 1 at the chin
    named = [                                                            # (field, std)
        (np.stack([x, zero, zero], 1), 0.06),                            # face width
        (np.stack([zero, y, zero], 1), 0.05),                            # face height
        (np.stack([zero, zero, z - z.mean()], 1), 0.08),                 # depth / flatness
        (nrm * _bump(v, pt["nose"][None], 0.09 * h)[:, None], 0.025),    # nose protrusion
        (np.stack([x * _bump(v, pt["nose"][None] - [0, 0.04 * h, 0], 0.08 * h), zero, zero], 1), 0.025),
        (np.stack([zero, -lower, zero], 1), 0.035),                      # chin length
        (np.stack([x * lower, zero, zero], 1), 0.05),                    # jaw width
        (nrm * _bump(v, cheeks, 0.12 * h)[:, None], 0.025),              # cheek fullness
        (-nrm * _bump(v, eyes, 0.06 * h)[:, None], 0.02),                # eye-socket depth
        (nrm * _bump(v, brows, 0.07 * h)[:, None], 0.02),                # brow ridge
        (np.stack([zero, zero, np.clip(y - brows[0, 1], 0, None)], 1), 0.06),  # forehead slope
        (nrm * _bump(v, v[LIPS_OUTER], 0.03 * h)[:, None], 0.008),       # lip fullness
        (np.stack([(x - mouth[0]) * _bump(v, mouth[None], 0.08 * h), zero, zero], 1), 0.03),
        (np.stack([x * _bump(v, eyes, 0.1 * h), zero, zero], 1), 0.025),  # eye spacing
    ]
    modes, stds = [], []
    for f, s in named:
        modes.append(_unit(_symmetrize(f, mirror)))
        stds.append(s)
    n_random = N_SHAPE_MODES - len(named) - 1
    for k in range(n_random):
        sigma = (0.35 - 0.2 * k / max(n_random - 1, 1)) * h
        modes.append(_unit(_symmetrize(_rbf_field(v, rng, 24, sigma, 3), mirror)))
        stds.append(0.02 * (0.93 ** k))
    modes.append(_unit(_rbf_field(v, rng, 24, 0.3 * h, 3)))              # slight asymmetry
    stds.append(0.008)
    shape_basis = np.stack([m * s for m, s in zip(modes, stds)]).astype(np.float32)

    region = np.zeros(len(v))
    albedo_mean = np.full(len(v), 0.72)
    eye_v = RIGHT_EYE + LEFT_EYE
    brow_v = RIGHT_BROW + LEFT_BROW
    albedo_mean[brow_v] = 0.32
    albedo_mean[LIPS_OUTER] = 0.5
    albedo_mean[LIPS_INNER] = 0.42
    albedo_mean[eye_v] = 0.16
    albedo_mean -= 0.05 * _bump(v, v[eye_v], 0.04 * h).clip(0, 1)       # eye shadow
    region[brow_v] = 1
    lips = np.zeros(len(v))
    lips[LIPS_OUTER + LIPS_INNER] = 1
    alb_named = [
        (np.ones(len(v)) - 0.5 * region, 0.08),                          # skin tone
        (region, 0.10),                                                  # brow darkness
        (lips, 0.07),                                                    # lip colour
        (_bump(v, eyes, 0.08 * h), 0.05),                                # eye-region shadow
        (_bump(v, cheeks, 0.12 * h), 0.04),                              # cheek brightness
        ((y - y.mean()) / h, 0.05),                                      # forehead-chin gradient
        (np.sqrt(x**2 + (y - y.mean()) ** 2) / h, 0.05),                 # centre-periphery
        (_bump(v, pt["nose"][None], 0.1 * h), 0.04),                     # nose shine
        (lower, 0.04),                                                   # beard shadow
    ]
    a_modes = [_unit(_symmetrize(f, mirror)) * s for f, s in alb_named]
    for k in range(N_ALBEDO_MODES - len(alb_named)):
        a_modes.append(_unit(_symmetrize(_rbf_field(v, rng, 16, 0.25 * h, 1)[:, 0], mirror))
                       * 0.03 * 0.9**k)
    info = {"mesh": "MediaPipe canonical face mesh", "n_vertices": len(v), "n_faces": len(tri),
            "basis_seed": seed, "shape_std": [float(s) for s in stds]}
    return FaceModel(v.astype(np.float32), tri.astype(np.int64), shape_basis,
                     albedo_mean.astype(np.float32), np.stack(a_modes).astype(np.float32),
                     source=source, info=info)


# --- Basel Face Model 2009 --------------------------------------------------------------

BFM_FIELDS = ("shapeMU", "shapePC", "shapeEV", "texMU", "texPC", "texEV", "tl")


def load_bfm(path: str | Path, n_modes: int = 50) -> FaceModel:
    """A :class:`FaceModel` from the Basel Face Model 2009 ``01_MorphableModel.mat``.

    Kulkarni et al. 2015 §4.1 rendered BFM faces. Shapes are centred and scaled into the
    render frame (radius :data:`MODEL_RADIUS`); RGB texture becomes grayscale albedo
    (ITU-R 601 luma / 255); ``tl`` is 1-based. Keeps the first ``n_modes`` modes.
    """
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as e:
        raise DataError(f"BFM file {path}: cannot read it as a MATLAB .mat file ({e})") from e
    missing = [k for k in BFM_FIELDS if k not in mat]
    if missing:
        raise DataError(f"BFM file {path}: not a Basel Face Model 2009 file; missing fields "
                        f"{missing} (expected {list(BFM_FIELDS)})")
    f64 = {k: np.asarray(mat[k], np.float64) for k in BFM_FIELDS}
    mu = f64["shapeMU"].reshape(-1)
    if mu.size % 3:
        raise DataError(f"BFM file {path}: shapeMU has {mu.size} values, not 3 per vertex")
    n_v = mu.size // 3
    try:
        k_s = min(n_modes, f64["shapePC"].shape[1])
        k_t = min(n_modes, f64["texPC"].shape[1])
        spc = f64["shapePC"][:, :k_s].reshape(n_v, 3, k_s)
        sev = f64["shapeEV"].reshape(-1)[:k_s]
        tmu = f64["texMU"].reshape(n_v, 3)
        tpc = f64["texPC"][:, :k_t].reshape(n_v, 3, k_t)
        tev = f64["texEV"].reshape(-1)[:k_t]
        tri = f64["tl"].astype(np.int64).reshape(-1, 3) - 1
    except (ValueError, IndexError) as e:
        raise DataError(f"BFM file {path}: field shapes do not match a BFM layout ({e})") from e
    if len(tri) == 0 or tri.min() < 0 or tri.max() >= n_v:
        raise DataError(f"BFM file {path}: tl is not a 1-based triangle list over {n_v} vertices")
    if len(sev) != k_s or len(tev) != k_t:
        raise DataError(f"BFM file {path}: shapeEV/texEV lengths do not match the PCs")
    mean = mu.reshape(n_v, 3)
    centre = (mean.min(0) + mean.max(0)) / 2
    scale = MODEL_RADIUS / np.linalg.norm(mean - centre, axis=1).max()
    luma = np.array([0.299, 0.587, 0.114]) / 255.0
    return FaceModel(
        vertices=((mean - centre) * scale).astype(np.float32),
        faces=tri,
        shape_basis=(np.transpose(spc, (2, 0, 1)) * (sev * scale)[:, None, None]).astype(np.float32),
        albedo_mean=(tmu @ luma).astype(np.float32),
        albedo_basis=(np.einsum("vck,c->kv", tpc, luma) * tev[:, None]).astype(np.float32),
        source=f"Basel Face Model 2009 ({path.name})",
        info={"mesh": "BFM 2009", "n_vertices": n_v, "n_faces": len(tri), "n_modes": n_modes},
    )
