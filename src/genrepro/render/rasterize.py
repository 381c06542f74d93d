"""A small vectorised z-buffer rasteriser in torch (CPU and CUDA, same code).

Serves the DC-IGN data (Kulkarni et al. 2015 §4.1): grayscale renders of a 3-D object
under a chosen pose (azimuth, elevation) and light direction.

Conventions
-----------
* **Object frame**: right-handed, ``y`` up; the object faces ``+z`` (towards the camera
  at azimuth 0, elevation 0), ``+x`` is the image's right at azimuth 0. The object should
  be roughly centred at the origin and fit in the unit sphere.
* **Camera**: orthographic, orbiting the origin. Its direction from the origin is
  ``(sin az cos el, sin el, cos az cos el)``. Positive azimuth brings the object's ``+x``
  side towards the camera (the object appears to turn towards the image's left);
  positive elevation looks from above. The image shows the square
  ``[-fov_scale, fov_scale]^2`` of the camera plane, so ``fov_scale=1`` frames the unit
  sphere exactly and larger values zoom out.
* **Light**: one directional light *in the camera frame* (it stays put when the camera
  orbits, as when a face turns in front of a fixed lamp), independent of the pose as in
  the paper. Its direction towards the light is
  ``(sin laz cos lel, sin lel, cos laz cos lel)`` in camera coordinates (``x`` right,
  ``y`` up, ``z`` towards the viewer): light azimuth 0 lights from the camera, positive
  values from the image's right, positive light elevation from above.
* **Shading**: Lambertian with ambient term,
  ``pixel = albedo * (ambient + (1 - ambient) * max(0, n . l))``, with smooth per-vertex
  normals (area-weighted) interpolated barycentrically per pixel and renormalised.
  Faces are two-sided: a triangle seen from its back (clockwise on screen) is lit with
  its normal flipped. For flat shading give every face its own three vertices.
* **Albedo**: per vertex ``(V,)``/``(B, V)`` (interpolated) or per face ``(F,)``/``(B, F)``
  (constant over the face; used when the length is ``F`` and not ``V``).
* **Output**: ``(B, size, size)`` float32 in ``[0, 1]``; background 0; pixel centres at
  half-integers; hard (not anti-aliased) edges; nearest surface wins (z-buffer).

Algorithm: for a whole batch, enumerate every (triangle, pixel-in-its-bounding-box)
candidate, keep those inside the triangle (barycentric test), and resolve visibility with
``scatter_reduce(amin)`` on int64 keys ``quantised_depth << 32 | face_id``. Integer
min-reduction is order-independent, so results are bit-for-bit reproducible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from genrepro.render.mesh import vertex_incidence, vertex_normals

_DEPTH_RANGE = 16.0                      # depths are clamped to [-16, 16] before quantising
_DEPTH_LEVELS = float(2**31 - 1)
_EMPTY = torch.iinfo(torch.int64).max
_FACE_MASK = (1 << 32) - 1
_INSIDE_EPS = -1e-5                      # closes cracks on shared edges
MAX_CANDIDATES = 1 << 23                 # (triangle, pixel) pairs per internal chunk

ArrayLike = Any  # torch.Tensor | np.ndarray | float | Sequence[float]


def _tensor(x: ArrayLike, name: str, device: torch.device, dtype=torch.float32) -> torch.Tensor:
    t = x.to(device=device, dtype=dtype) if isinstance(x, torch.Tensor) else \
        torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)
    if dtype.is_floating_point and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _scalar(x: float, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a number, got {x!r}") from e
    if not math.isfinite(v):
        raise ValueError(f"{name} is NaN or infinite ({v})")
    return v


def _batched_angle(x: ArrayLike, name: str, device: torch.device) -> torch.Tensor:
    t = _tensor(x, name, device, torch.float64).reshape(-1)
    if t.numel() == 0:
        raise ValueError(f"{name} is empty")
    return t


def view_rotation(azimuth: torch.Tensor, elevation: torch.Tensor) -> torch.Tensor:
    """``(B, 3, 3)`` object-to-camera rotation ``Rx(el) @ Ry(-az)`` (angles in degrees).

    Kulkarni et al. 2015 §4.1: pose factors of the rendered images.
    """
    a, e = torch.deg2rad(azimuth), torch.deg2rad(elevation)
    ca, sa, ce, se = torch.cos(a), torch.sin(a), torch.cos(e), torch.sin(e)
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    ry = torch.stack([ca, zero, -sa, zero, one, zero, sa, zero, ca], -1).reshape(-1, 3, 3)
    rx = torch.stack([one, zero, zero, zero, ce, -se, zero, se, ce], -1).reshape(-1, 3, 3)
    return rx @ ry


def light_direction(light_azimuth: torch.Tensor, light_elevation: torch.Tensor) -> torch.Tensor:
    """``(B, 3)`` unit direction towards the light, in camera coordinates (degrees in).

    Kulkarni et al. 2015 §4.1: the light factor, varied independently of pose.
    """
    a, e = torch.deg2rad(light_azimuth), torch.deg2rad(light_elevation)
    return torch.stack([torch.sin(a) * torch.cos(e), torch.sin(e) * torch.ones_like(a),
                        torch.cos(a) * torch.cos(e)], -1)


def render(vertices: ArrayLike, faces: ArrayLike, albedo: ArrayLike, azimuth: ArrayLike,
           elevation: ArrayLike, light_azimuth: ArrayLike, *, size: int = 150,
           ambient: float = 0.3, light_elevation: float = 0.0, fov_scale: float = 1.0,
           device: torch.device | str | None = None) -> torch.Tensor:
    """Render grayscale Lambertian images of a mesh; ``(B, size, size)`` float in ``[0, 1]``.

    Kulkarni et al. 2015 §4.1 (the rendered face and chair data of DC-IGN). Conventions
    are in the module docstring. ``vertices`` ``(V, 3)`` or ``(B, V, 3)``; ``faces``
    ``(F, 3)`` int; ``albedo`` per vertex or per face, batched or not; ``azimuth``,
    ``elevation``, ``light_azimuth`` scalars or ``(B,)`` in degrees; ``light_elevation``
    a scalar in degrees. Everything is broadcast to one batch size ``B``. ``device``:
    where to render (default: the device of ``vertices`` if it is a tensor, else CPU).
    NaN or infinite inputs raise :class:`ValueError` naming the argument.
    """
    if device is None:
        device = vertices.device if isinstance(vertices, torch.Tensor) else torch.device("cpu")
    device = torch.device(device)
    if isinstance(size, bool) or int(size) != size or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    size = int(size)
    ambient = _scalar(ambient, "ambient")
    fov_scale = _scalar(fov_scale, "fov_scale")
    light_el = _scalar(light_elevation, "light_elevation")
    if fov_scale <= 0:
        raise ValueError(f"fov_scale must be positive, got {fov_scale}")
    if not 0.0 <= ambient <= 1.0:
        raise ValueError(f"ambient must be in [0, 1], got {ambient}")

    verts = _tensor(vertices, "vertices", device)
    if verts.ndim == 2:
        verts = verts[None]
    if verts.ndim != 3 or verts.shape[-1] != 3 or verts.shape[1] == 0:
        raise ValueError(f"vertices must have shape (V, 3) or (B, V, 3), got {tuple(verts.shape)}")
    fcs = faces.to(device) if isinstance(faces, torch.Tensor) else \
        torch.as_tensor(np.asarray(faces), device=device)
    if fcs.is_floating_point() or fcs.is_complex():
        raise ValueError("faces must be an integer array")
    fcs = fcs.long()
    n_v, n_f = verts.shape[1], (fcs.shape[0] if fcs.ndim == 2 else 0)
    if fcs.ndim != 2 or fcs.shape[1] != 3 or n_f == 0:
        raise ValueError(f"faces must have shape (F, 3) with F > 0, got {tuple(fcs.shape)}")
    if int(fcs.min()) < 0 or int(fcs.max()) >= n_v:
        raise ValueError(f"faces index vertices outside 0..{n_v - 1}")

    alb = _tensor(albedo, "albedo", device)
    if alb.ndim == 0:
        alb = alb.expand(n_v)
    if alb.ndim == 1:
        alb = alb[None]
    if alb.ndim != 2 or alb.shape[-1] not in (n_v, n_f):
        raise ValueError(f"albedo must have shape (V,), (B, V), (F,) or (B, F) with V={n_v}, "
                         f"F={n_f}; got {tuple(alb.shape)}")
    per_face = alb.shape[-1] != n_v

    az = _batched_angle(azimuth, "azimuth", device)
    el = _batched_angle(elevation, "elevation", device)
    laz = _batched_angle(light_azimuth, "light_azimuth", device)
    sizes = {"vertices": verts.shape[0], "albedo": alb.shape[0], "azimuth": az.numel(),
             "elevation": el.numel(), "light_azimuth": laz.numel()}
    b = max(sizes.values())
    bad = {k: n for k, n in sizes.items() if n not in (1, b)}
    if bad:
        raise ValueError(f"batch sizes do not broadcast to {b}: {bad}")
    az, el, laz = az.expand(b), el.expand(b), laz.expand(b)

    rot = view_rotation(az, el).to(torch.float32)                          # (B, 3, 3)
    light = light_direction(laz, torch.full_like(laz, light_el)).to(torch.float32)
    incidence = vertex_incidence(fcs, n_v)
    normals = vertex_normals(verts, fcs, incidence)                        # (Bv, V, 3)

    out = torch.zeros(b, size, size, dtype=torch.float32, device=device)
    start = 0
    step = max(1, min(b, 64))
    while start < b:
        stop = min(b, start + step)
        idx = torch.arange(start, stop, device=device)
        vi = idx if verts.shape[0] > 1 else torch.zeros_like(idx)
        ai = idx if alb.shape[0] > 1 else torch.zeros_like(idx)
        used = _raster_chunk(verts[vi], normals[vi], fcs, alb[ai], per_face, rot[idx],
                             light[idx], ambient, fov_scale, size, out[start:stop])
        # adapt the chunk size so the candidate list stays near MAX_CANDIDATES
        per_image = max(used / (stop - start), 1.0)
        step = max(1, int(MAX_CANDIDATES / per_image))
        start = stop
    return out


def _pow2_class(n: torch.Tensor) -> torch.Tensor:
    """Smallest power of two >= n (n >= 1), elementwise, as int64."""
    return torch.exp2(torch.ceil(torch.log2(n.clamp_min(1).double()))).long()


def _raster_chunk(verts: torch.Tensor, normals: torch.Tensor, faces: torch.Tensor,
                  albedo: torch.Tensor, per_face: bool, rot: torch.Tensor, light: torch.Tensor,
                  ambient: float, fov: float, size: int, out: torch.Tensor) -> int:
    """Rasterise ``Bc`` images into ``out`` (``(Bc, size, size)``); returns the cell count.

    Triangles are grouped by their bounding-box side rounded up to a power of two, so each
    group enumerates its (triangle, pixel) candidates by broadcasting, without gathers
    (few groups = few torch ops, which matters on a busy multi-threaded CPU).
    """
    bc, n_f = verts.shape[0], faces.shape[0]
    dev = verts.device
    cam = verts @ rot.transpose(1, 2)                                      # (Bc, V, 3)
    half = size / 2.0
    sx = (cam[..., 0] / fov + 1.0) * half
    sy = (1.0 - cam[..., 1] / fov) * half
    x0, x1, x2 = (sx[:, faces[:, k]] for k in range(3))                    # (Bc, F)
    y0, y1, y2 = (sy[:, faces[:, k]] for k in range(3))
    z0, z1, z2 = (cam[..., 2][:, faces[:, k]] for k in range(3))
    area2 = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)                  # < 0: front-facing
    ok = area2.abs() > 1e-9
    inv = torch.where(ok, 1.0 / torch.where(ok, area2, torch.ones_like(area2)),
                      torch.zeros_like(area2))
    xmin = torch.ceil(torch.minimum(torch.minimum(x0, x1), x2) - 0.5).clamp(0, size - 1)
    xmax = torch.floor(torch.maximum(torch.maximum(x0, x1), x2) - 0.5).clamp(-1, size - 1)
    ymin = torch.ceil(torch.minimum(torch.minimum(y0, y1), y2) - 0.5).clamp(0, size - 1)
    ymax = torch.floor(torch.maximum(torch.maximum(y0, y1), y2) - 0.5).clamp(-1, size - 1)
    w, h = xmax - xmin + 1, ymax - ymin + 1
    ok = ok & (w > 0) & (h > 0)
    # barycentrics and depth as affine functions of (col, row) inside the bounding box
    a1, b1 = (y2 - y0) * inv, -(x2 - x0) * inv
    a2, b2 = -(y1 - y0) * inv, (x1 - x0) * inv
    ox, oy = xmin + 0.5 - x0, ymin + 0.5 - y0
    e1, e2 = a1 * ox + b1 * oy, a2 * ox + b2 * oy
    z10, z20 = z1 - z0, z2 - z0
    d0 = -(z0 + z10 * e1 + z20 * e2)                                       # smaller = nearer
    dc, dr = -(z10 * a1 + z20 * a2), -(z10 * b1 + z20 * b2)
    params = torch.stack([a1, b1, e1, a2, b2, e2, d0, dc, dr, w, h, xmin, ymin], -1)
    params = params.reshape(bc * n_f, 13)
    img_of = torch.arange(bc, device=dev).repeat_interleave(n_f)
    base = ((img_of * size + ymin.reshape(-1).long()) * size
            + xmin.reshape(-1).long())
    fid = torch.arange(n_f, device=dev, dtype=torch.int64).repeat(bc)

    okf = ok.reshape(-1)
    cls = torch.where(okf, _pow2_class(torch.maximum(w, h).reshape(-1)), 0)
    keys_all, pix_all = [], []
    cells = 0
    for c in torch.unique(cls[okf]).tolist():
        sel = (cls == c).nonzero().squeeze(1)
        p = params.index_select(0, sel).T.contiguous().unsqueeze(1)       # (13, 1, Tc)
        col = torch.arange(c, device=dev, dtype=torch.float32).repeat(c)[:, None]
        row = torch.arange(c, device=dev, dtype=torch.float32).repeat_interleave(c)[:, None]
        l1 = p[2] + p[0] * col + p[1] * row                                # (K, Tc)
        l2 = p[5] + p[3] * col + p[4] * row
        m = ((l1 >= _INSIDE_EPS) & (l2 >= _INSIDE_EPS) & (l1 + l2 <= 1.0 - _INSIDE_EPS)
             & (col < p[9]) & (row < p[10]))
        cells += m.numel()
        depth = (p[6] + p[7] * col + p[8] * row)[m]
        offs = (row * size + col).long()
        pix_all.append((base.index_select(0, sel)[None, :] + offs)[m])
        q = ((depth.clamp(-_DEPTH_RANGE, _DEPTH_RANGE) + _DEPTH_RANGE)
             * (_DEPTH_LEVELS / (2 * _DEPTH_RANGE))).long()
        keys_all.append((q << 32) | fid.index_select(0, sel)[None, :].expand_as(m)[m])
    if not keys_all:
        return 0
    zbuf = torch.full((bc * size * size,), _EMPTY, dtype=torch.int64, device=dev)
    zbuf.scatter_reduce_(0, torch.cat(pix_all), torch.cat(keys_all), reduce="amin",
                         include_self=True)

    hit = (zbuf != _EMPTY).nonzero().squeeze(1)
    if hit.numel() == 0:
        return cells
    face = zbuf[hit] & _FACE_MASK
    img = torch.div(hit, size * size, rounding_mode="floor")
    rem = hit - img * size * size
    hy = torch.div(rem, size, rounding_mode="floor")
    hx = rem - hy * size
    gtri = img * n_f + face
    p = params.index_select(0, gtri)
    col, row = hx.float() - p[:, 11], hy.float() - p[:, 12]
    l1 = (p[:, 2] + p[:, 0] * col + p[:, 1] * row).clamp(0, 1)
    l2 = (p[:, 5] + p[:, 3] * col + p[:, 4] * row).clamp(0, 1)
    l0 = (1.0 - l1 - l2).clamp_min(0)
    fv = faces.index_select(0, face)                                       # (H, 3)
    ncam = (normals @ rot.transpose(1, 2)).reshape(-1, 3)                  # (Bc*V, 3)
    vbase = img * normals.shape[1]
    n = (l0[:, None] * ncam.index_select(0, vbase + fv[:, 0])
         + l1[:, None] * ncam.index_select(0, vbase + fv[:, 1])
         + l2[:, None] * ncam.index_select(0, vbase + fv[:, 2]))
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    back = area2.reshape(-1).index_select(0, gtri) > 0
    n = torch.where(back[:, None], -n, n)
    lam = (n * light.index_select(0, img)).sum(-1).clamp_min(0)
    alb = albedo.reshape(-1)
    if per_face:
        a = alb.index_select(0, gtri)
    else:
        a = (l0 * alb.index_select(0, vbase + fv[:, 0]) + l1 * alb.index_select(0, vbase + fv[:, 1])
             + l2 * alb.index_select(0, vbase + fv[:, 2]))
    val = (a * (ambient + (1.0 - ambient) * lam)).clamp(0, 1)
    out.view(-1)[hit] = val
    return cells
