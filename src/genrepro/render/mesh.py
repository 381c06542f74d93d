"""Mesh input/output and per-vertex normals for the renderer (Kulkarni et al. 2015 §4.1).

Mesh files are read with trimesh; every failure (unknown format, unreadable file, a
mesh without triangles) becomes a :class:`ValueError` that names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


def load_mesh(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load a triangle mesh (OBJ, PLY, STL, OFF, GLB, ...) as ``(vertices, faces)``.

    Serves the DC-IGN renderer (Kulkarni et al. 2015 §4.1). Returns float32 ``(V, 3)``
    vertices and int64 ``(F, 3)`` faces; a scene with several meshes is concatenated.
    Polygons are triangulated by trimesh. Raises :class:`ValueError` for a missing,
    unreadable or unknown-format file and for a mesh with no faces.
    """
    import trimesh

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"mesh file {p} does not exist or is not a file")
    try:
        obj = trimesh.load(str(p), force="mesh", process=False)
    except Exception as e:  # trimesh raises many types for bad input
        raise ValueError(f"cannot read mesh file {p}: {type(e).__name__}: {e}") from e
    if isinstance(obj, trimesh.Scene):  # pragma: no cover - force="mesh" normally merges
        geoms = [g for g in obj.geometry.values() if isinstance(g, trimesh.Trimesh)]
        obj = trimesh.util.concatenate(geoms) if geoms else None
    if not isinstance(obj, trimesh.Trimesh):
        raise ValueError(  # noqa: TRY004 - a bad file, not a bad argument type
            f"mesh file {p}: no triangle mesh found (got {type(obj).__name__})")
    vertices = np.asarray(obj.vertices, dtype=np.float32)
    faces = np.asarray(obj.faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        raise ValueError(f"mesh file {p}: the mesh has no faces")
    if len(vertices) == 0 or faces.min() < 0 or faces.max() >= len(vertices):
        raise ValueError(f"mesh file {p}: face indices do not match the {len(vertices)} vertices")
    if not np.isfinite(vertices).all():
        raise ValueError(f"mesh file {p}: vertices contain NaN or infinite values")
    return vertices, faces


def normalize_to_unit_sphere(vertices: np.ndarray, radius: float = 1.0) -> np.ndarray:
    """Centre ``vertices`` on their bounding-box centre and scale them into a sphere.

    The renderer's convention (Kulkarni et al. 2015 §4.1): objects are roughly centred
    at the origin and fit in the unit sphere; ``radius`` leaves a margin if below 1.
    """
    v = np.asarray(vertices, dtype=np.float64)
    centre = (v.min(0) + v.max(0)) / 2
    r = np.linalg.norm(v - centre, axis=1).max()
    if not np.isfinite(r) or r <= 0:
        raise ValueError("cannot normalise a degenerate mesh (all vertices coincide)")
    return ((v - centre) * (radius / r)).astype(np.float32)


def vertex_incidence(faces: torch.Tensor, n_vertices: int) -> torch.Tensor:
    """``(V, K)`` table of the faces around each vertex, padded with ``F`` (a dummy face).

    Used to sum face normals into vertex normals with a gather and a fixed-order sum,
    so the result is bit-for-bit deterministic on CPU and GPU (no float atomics).
    """
    f = faces.shape[0]
    vid = faces.reshape(-1)
    fid = torch.arange(f, device=faces.device).repeat_interleave(3)
    order = torch.argsort(vid, stable=True)
    vid, fid = vid[order], fid[order]
    counts = torch.bincount(vid, minlength=n_vertices)
    k = max(int(counts.max().item()) if counts.numel() else 1, 1)
    start = torch.cumsum(counts, 0) - counts
    slot = torch.arange(vid.numel(), device=faces.device) - start[vid]
    table = torch.full((n_vertices, k), f, dtype=torch.long, device=faces.device)
    table[vid, slot] = fid
    return table


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor,
                   incidence: torch.Tensor | None = None) -> torch.Tensor:
    """Area-weighted unit vertex normals of ``(B, V, 3)`` vertices (deterministic).

    Counter-clockwise faces (seen from outside) get outward normals. Serves the smooth
    Lambertian shading of the DC-IGN renders (Kulkarni et al. 2015 §4.1).
    """
    b, v, _ = verts.shape
    if incidence is None:
        incidence = vertex_incidence(faces, v)
    p0, p1, p2 = (verts[:, faces[:, i]] for i in range(3))
    fn = torch.cross(p1 - p0, p2 - p0, dim=-1)                 # (B, F, 3), |fn| = 2 * area
    fn = torch.cat([fn, fn.new_zeros(b, 1, 3)], dim=1)         # dummy face F -> zero
    vn = fn[:, incidence].sum(dim=2)                           # (B, V, 3), fixed order
    norm = vn.norm(dim=-1, keepdim=True)
    return torch.where(norm > 0, vn / norm.clamp_min(1e-30), torch.zeros_like(vn))
