"""What the chapter measures of a DC-IGN beyond the paper's figures (Kulkarni et al. 2015 §4.1):
how well each clamped latent tracks its factor on unseen faces, and where it falls short.

* :func:`rendered_test_sets` — unseen test faces rendered at any size;
* :func:`factor_correlations` — |Pearson r| of z1, z2, z3 with azimuth, elevation and light,
  pooled over faces and inside one face (the jobs' |r| monitor and the chapter's §3 and §6);
* :func:`signs_by_side` — the sign of a latent face by face, against the face's azimuth;
* :func:`per_face_fits` — a line z = a + b·factor fitted inside each face: how much of the pooled
  |r| is lost to face-to-face offsets a and to slopes b that follow the other factors;
* :func:`within_r_by_pose` — the |r| inside one face, by how far the face is turned: where the
  images themselves say little of the elevation or the light;
* :func:`light_in_images` — how much the renders alone change with the light, by pose, for our
  camera-frame light and a light that turns with the face;
* :func:`azimuth_sweep_reach` — how far Figure 5's z1 sweep turns a face, and z1 against a dense
  azimuth sweep of the renders (where it stops tracking the pose); :func:`turned_faces` — that
  sweep's decodes over a chosen range, each labelled with the pose it shows;
* :func:`pose_in_identity_latents` / :func:`readout_r2` — how much pose the identity latents carry;
* :func:`detail_kept` — how much of the faces' edges and finest detail reconstructions keep.
"""

from __future__ import annotations

from typing import Any

import torch

from genrepro.dcign import DCIGN
from genrepro.jobs.dcign_table import RUNS, faces_jobs, light_frame

FACTOR_OF = {"AZ_VARIED": "azimuth", "EL_VARIED": "elevation", "LIGHT_VARIED": "light"}


def rendered_test_sets(face_model, size: int, n: int,
                       device: torch.device | str = "cpu", light_frame: str = "camera") -> dict[str, Any]:
    """``n`` test batches per kind rendered at ``size``, as ``FaceTestSet`` s: what
    ``data_prep/faces.py`` would store in ``test_batches_<profile>.npz`` at that size
    (:func:`~genrepro.data.faces_prep.test_batch_arrays`). The test faces of a network whose
    size has no prepared file, or more of them than the quick file's 8; ``light_frame`` as
    :class:`~genrepro.data.faces.FaceBatches`'s (the face-frame light probe's own test faces)."""
    from genrepro.data import faces
    from genrepro.data.faces_prep import test_batch_arrays

    a = test_batch_arrays(face_model, size, n, device, light_frame=light_frame)
    fields = ("images", "azimuth", "elevation", "light", "shape_coef", "albedo_coef")
    return {k: faces.FaceTestSet(k, *(a[f"{k}/{f}"] for f in fields)) for k in faces.KINDS}


def factor_correlations(model: DCIGN, batches: dict[str, list], clamped: bool = True) -> dict[str, Any]:
    """|Pearson r| between each factor's latent μ and the true factor over ``batches`` (kind →
    ``FaceBatch`` list, one factor varied per batch). ``clamped``: the latent is the one
    trained for the factor (z1, z2, z3); otherwise (the plain VAE) the most varying one.

    ``abs_r`` pools every image of the kind (identities, and the other factors, differ between
    batches), so it asks that the latent mean the same thing for every face; ``within_r`` is
    the mean over batches of the |r| inside one batch (one face, one factor moving), which a
    latent whose direction or offset depends on the face still scores high on."""
    from genrepro.dcign import EXTRINSIC, abs_pearson, encode, most_varying_latent

    r, within, latent = {}, {}, {}
    for kind, bs in batches.items():
        idx = EXTRINSIC[kind] if clamped else most_varying_latent(model, [b.images for b in bs])
        zs = [encode(model, b.images)[:, idx] for b in bs]
        truths = [getattr(b, FACTOR_OF[kind]) for b in bs]
        r[FACTOR_OF[kind]] = round(abs_pearson(torch.cat(zs), torch.cat(truths)), 4)
        within[FACTOR_OF[kind]] = round(sum(abs_pearson(z, t) for z, t in zip(zs, truths)) / len(zs), 4)
        latent[FACTOR_OF[kind]] = int(idx)
    return {"abs_r": r, "within_r": within, "latent": latent}


def signs_by_side(model: DCIGN, batches: list, kind: str) -> dict[str, Any]:
    """Which way the latent of ``kind`` (z1, z2 or z3) points, face by face: the signed Pearson r
    between it and its factor inside each batch of ``batches`` (``FaceBatch`` es of that kind: one
    face, one factor moving), against the batch's fixed azimuth.

    Returns ``azimuth`` and ``r`` (arrays, one entry per batch), ``agree`` (the share of batches with
    the majority sign) and ``left`` / ``right`` (mean r of faces turned to azimuth < 0 / > 0)."""
    import numpy as np

    from genrepro.dcign import EXTRINSIC, encode

    idx = EXTRINSIC[kind]
    a, r = np.array([(float(b.azimuth[0]), float(np.corrcoef(encode(model, b.images)[:, idx].cpu().numpy(),
                                                            getattr(b, FACTOR_OF[kind]).cpu().numpy())[0, 1]))
                     for b in batches]).T
    return {"azimuth": a, "r": r, "agree": float(max((r > 0).mean(), (r < 0).mean())),
            "left": float(r[a < 0].mean()), "right": float(r[a > 0].mean())}


def per_face_fits(model: DCIGN, batches: list, kind: str) -> dict[str, Any]:
    """Where the pooled |r| of the latent of ``kind`` (z1, z2 or z3) is lost, face by face.

    ``batches``: ``FaceBatch`` es of that kind (one face; one factor moving, the others fixed).
    Inside each, a least-squares line z = a + b·(factor − its mean over all batches). Returns

    * ``pooled_r``: |r| over every image (the chapter's goal metric);
    * ``without_offsets_r``: the same after each face's offset a is replaced by the mean offset,
      i.e. what a latent with one level for every face would score;
    * ``slope_cv``: sd(b) / |mean b|, how much the latent's gain differs between faces;
    * ``offset_sd``: sd(a) / |mean b|, the spread of the faces' levels in units of the factor
      (degrees for azimuth and elevation);
    * ``slope_follows`` / ``offset_follows``: for each other factor, r between its fixed value in
      the batch, as given and as a magnitude (``|light|``), and b (resp. a)."""
    import numpy as np

    from genrepro.dcign import EXTRINSIC, encode

    if kind not in FACTOR_OF:
        raise ValueError(f"kind must be one of {', '.join(FACTOR_OF)}, got {kind!r}")
    if len(batches) < 3:
        raise ValueError(f"need at least 3 batches of {kind} to compare faces, got {len(batches)}")
    f = FACTOR_OF[kind]
    z = np.stack([encode(model, b.images)[:, EXTRINSIC[kind]].cpu().double().numpy() for b in batches])
    t = np.stack([getattr(b, f).cpu().double().numpy() for b in batches])
    tc = t - t.mean()
    b = ((tc - tc.mean(1, keepdims=True)) * (z - z.mean(1, keepdims=True))).sum(1) \
        / np.maximum(((tc - tc.mean(1, keepdims=True)) ** 2).sum(1), 1e-12)
    a = z.mean(1) - b * tc.mean(1)
    gain = abs(float(b.mean())) or 1e-12
    follows = {}
    for name, part in (("slope", b), ("offset", a)):
        follows[name] = {}
        for g in FACTOR_OF.values():
            if g == f:
                continue
            fixed = np.array([float(getattr(bb, g)[0]) for bb in batches])
            for label, v in ((g, fixed), (f"|{g}|", np.abs(fixed))):
                ok = v.std() > 0 and part.std() > 0
                follows[name][label] = round(float(np.corrcoef(v, part)[0, 1]), 3) if ok else 0.0
    r = lambda x: abs(float(np.corrcoef(x.ravel(), t.ravel())[0, 1]))   # noqa: E731
    return {"pooled_r": round(r(z), 4), "without_offsets_r": round(r(z - a[:, None] + a.mean()), 4),
            "slope_cv": round(float(b.std()) / gain, 3), "offset_sd": round(float(a.std()) / gain, 2),
            "slope_follows": follows["slope"], "offset_follows": follows["offset"]}


def within_r_by_pose(model: DCIGN, batches: list, kind: str,
                     edges: tuple[float, ...] = (0.0, 45.0, 75.0, 90.0)) -> list[dict[str, Any]]:
    """Mean |r| of the latent of ``kind`` (z2 for elevation, z3 for light) with its factor inside
    each batch (one face, one pose), by the band of |azimuth| the face is turned to: one
    ``{"band": (lo, hi), "faces": n, "mean_abs_r": ...}`` per band of ``edges`` (the last band
    includes its upper edge; ``mean_abs_r`` is None for an empty band). A latent that reads its
    factor equally well in every pose has the same |r| in every band.

    Raises ``ValueError`` for the azimuth kind (its batches have no one pose), fewer than two edges
    or edges that do not increase."""
    import numpy as np

    from genrepro.dcign import EXTRINSIC, abs_pearson, encode

    if kind not in ("EL_VARIED", "LIGHT_VARIED"):
        raise ValueError(f"kind must be EL_VARIED or LIGHT_VARIED (a batch of one pose), got {kind!r}")
    e = [float(x) for x in edges]
    if len(e) < 2 or any(b <= a for a, b in zip(e, e[1:])):
        raise ValueError(f"edges must be at least two increasing |azimuth| values, got {edges!r}")
    f = FACTOR_OF[kind]
    rs_a = np.array([abs_pearson(encode(model, b.images)[:, EXTRINSIC[kind]], getattr(b, f)) for b in batches])
    az_a = np.array([abs(float(b.azimuth[0])) for b in batches])
    out = []
    for i, (lo, hi) in enumerate(zip(e, e[1:])):
        sel = (az_a >= lo) & ((az_a <= hi) if i == len(e) - 2 else (az_a < hi))
        out.append({"band": (lo, hi), "faces": int(sel.sum()),
                    "mean_abs_r": round(float(rs_a[sel].mean()), 3) if sel.any() else None})
    return out


def _one_face(fb, s: dict, azimuth: torch.Tensor, elevation: torch.Tensor, light: torch.Tensor) -> torch.Tensor:
    """Renders of the first identity of ``fb.sample`` output ``s`` under per-view factors (degrees,
    tensors of one length): one face swept over a factor."""
    n = len(azimuth)
    return fb.render(torch.as_tensor(s["shape_coef"][:1]).expand(n, -1),
                     torch.as_tensor(s["albedo_coef"][:1]).expand(n, -1), azimuth, elevation, light)


def light_in_images(face_model, size: int, azimuths: Any, n_faces: int, step: float = 5.0, frame: str = "camera",
                    device: torch.device | str = "cpu") -> list[dict[str, Any]]:
    """How much the renders themselves say of the light, by pose (beyond the paper; the
    DC-IGN issue's "the light direction not visible enough"). For each azimuth, ``n_faces``
    unseen test identities at elevation 0 are rendered under a light swept over the light range
    in ``step``-degree steps, no network involved. ``frame="camera"`` is our renderer's light
    (fixed in the camera frame, :mod:`genrepro.render.rasterize`); ``"face"`` the alternative
    of a light that turns with the face (camera-frame azimuth = light − azimuth).

    Per azimuth, means over the faces of: ``change``, the mean absolute pixel change per step;
    ``flat``, the share of steps that change the image by less than a tenth of the sweep's
    largest step (light the image cannot tell apart); ``pc1_r``, the |r| of the light with the
    sweep's first principal component (high when the light moves the image along one direction,
    a linear read-out's easy case; low when it moves it along a curve)."""
    import numpy as np

    from genrepro.data import faces
    from genrepro.dcign import abs_pearson

    if n_faces < 1 or not 0 < step <= 90:
        raise ValueError(f"need n_faces >= 1 and 0 < step <= 90, got {n_faces}, {step}")
    lo, hi = faces.LIGHT_AZIMUTH_RANGE
    light = torch.arange(lo, hi + step / 2, step, dtype=torch.float32)
    n = len(light)
    fb = faces.FaceBatches(face_model, size, split="test", device=device, light_frame=frame)   # checks the frame
    ids = [fb.sample(faces.LIGHT_VARIED, i) for i in range(n_faces)]
    out = []
    for az in azimuths:
        rows = []
        for s in ids:
            im = _one_face(fb, s, torch.full((n,), float(az)), torch.zeros(n), light)[:, 0].cpu().double().numpy()
            d = np.abs(np.diff(im, axis=0)).mean(axis=(1, 2))
            x = im.reshape(n, -1) - im.reshape(n, -1).mean(0)
            pc1 = np.linalg.svd(x, full_matrices=False)[0][:, 0]
            rows.append((d.mean(), (d < 0.1 * d.max()).mean() if d.max() > 0 else 1.0, abs_pearson(pc1, light)))
        c, f, r = (float(np.mean(v)) for v in zip(*rows))
        out.append({"azimuth": float(az), "change": round(c, 5), "flat": round(f, 3), "pc1_r": round(r, 3)})
    return out


def _azimuth_grid(step: float) -> torch.Tensor:
    """The reference views' azimuths: the renderer's azimuth range in ``step``-degree steps."""
    from genrepro.data import faces

    lo, hi = faces.AZIMUTH_RANGE
    return torch.arange(lo, hi + step / 2, step, dtype=torch.float32)


def _reference_sweeps(model: DCIGN, face_model, n_faces: int, az: torch.Tensor, light_frame: str,
                      device: torch.device | str) -> list[torch.Tensor]:
    """Renders of the first ``n_faces`` unseen test identities (one per azimuth batch) at the
    network's size, at each azimuth of ``az``, elevation 0 and light 0: the reference views."""
    from genrepro.data import faces

    fb = faces.FaceBatches(face_model, model.cfg.image_size, split="test", device=device, light_frame=light_frame)
    zeros = torch.zeros(len(az))
    return [_one_face(fb, fb.sample(faces.AZ_VARIED, i), az, zeros, zeros).to(device) for i in range(n_faces)]


def _turned(model: DCIGN, ref: torch.Tensor, az: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The frontal view of one face's reference sweep ``ref`` decoded with z1 set to each of
    ``values``, all else as encoded, and the azimuth of the reference view nearest each decode
    (mean squared pixel difference): the pose each decode shows."""
    from genrepro.dcign import decode, encode

    front = int(torch.argmin(az.abs()))
    code = encode(model, ref[front:front + 1]).repeat(len(values), 1)
    code[:, 0] = values.to(code.device)
    out = decode(model, code)
    d = ((out[:, None] - ref[None]) ** 2).flatten(2).mean(-1)   # (values, azimuths)
    return out, az[d.argmin(1).cpu()]


def azimuth_sweep_reach(model: DCIGN, face_model, n_faces: int, step: float = 5.0, stretch: float = 2.0,
                        light_frame: str = "camera", device: torch.device | str = "cpu") -> dict[str, Any]:
    """How far Figure 5's sweep of z1 turns a face, and why not further (beyond the paper; the DC-IGN
    issue's "turns an unseen face from one profile to the other"). ``n_faces`` unseen test
    identities are rendered at the network's size at every azimuth in ``step``-degree steps (elevation
    0, light 0; the reference views). Each face's frontal view is then decoded with z1 set to values
    spanning the 2nd to 98th percentile of z1 over the reference views (what Figure 5 shows), and on
    to ``stretch`` times that span; each decode is matched to the nearest reference view of the same
    face (mean squared pixel difference), whose azimuth is the one the decode shows. ``light_frame``
    as :class:`~genrepro.data.faces.FaceBatches`'s (a network trained on face-frame light).

    Returns ``azimuths`` (the reference grid), ``z1`` (the mean z1 of the reference views at each,
    over faces: a latent that tracked the azimuth throughout would rise monotonically), ``span``
    (the percentiles), ``values`` and ``reached`` (the median matched azimuth over faces at each
    value; the first and last value of the inner span are ``span_ends``), and ``reach``: the
    matched azimuths at the ends of Figure 5's span and of the stretched one."""
    import numpy as np

    from genrepro.dcign import encode

    if n_faces < 1 or not 0 < step <= 45 or stretch < 1:
        raise ValueError(f"need n_faces >= 1, 0 < step <= 45 and stretch >= 1, got {n_faces}, {step}, {stretch}")
    az = _azimuth_grid(step)
    with torch.no_grad():
        refs = _reference_sweeps(model, face_model, n_faces, az, light_frame, device)
        z = torch.stack([encode(model, r)[:, 0].cpu() for r in refs])   # (faces, azimuths)
        q_lo, q_hi = (float(v) for v in z.flatten().quantile(torch.tensor([0.02, 0.98])))
        mid, half = (q_lo + q_hi) / 2, (q_hi - q_lo) / 2
        inner = torch.linspace(q_lo, q_hi, 9)
        outer = torch.linspace(mid - stretch * half, mid + stretch * half, 9 + 8 * int(stretch > 1))
        below, above = outer[outer < q_lo - 1e-6], outer[outer > q_hi + 1e-6]
        values = torch.cat([below, inner, above])
        matched = [_turned(model, ref, az, values)[1].numpy() for ref in refs]
    reached = np.median(np.stack(matched), axis=0)
    i_lo, i_hi = len(below), len(below) + len(inner) - 1
    return {"azimuths": az.tolist(), "z1": [round(float(v), 3) for v in z.mean(0)], "span": [q_lo, q_hi],
            "values": [round(float(v), 3) for v in values], "reached": [float(v) for v in reached],
            "span_ends": [i_lo, i_hi],
            "reach": {"figure5": [float(reached[i_lo]), float(reached[i_hi])],
                      "stretched": [float(reached[0]), float(reached[-1])]}}


def turned_faces(model: DCIGN, face_model, n_faces: int, values: Any, step: float = 5.0,
                 light_frame: str = "camera", device: torch.device | str = "cpu") -> dict[str, Any]:
    """Figure 5 over a chosen range (beyond the paper): the frontal views of the first ``n_faces``
    unseen test identities of :func:`azimuth_sweep_reach` decoded with z1 set to each of
    ``values`` (e.g. its stretched span), each decode labelled with the azimuth of the nearest
    rendered view of the same face. Returns ``images`` (faces, values, H, W), ``matched``
    (faces, values; degrees) and ``values``."""
    import numpy as np

    values = torch.as_tensor(values, dtype=torch.float32).flatten()
    if n_faces < 1 or len(values) < 2 or not 0 < step <= 45:
        raise ValueError(f"need n_faces >= 1, at least two values and 0 < step <= 45, got {n_faces}, "
                         f"{len(values)} values, {step}")
    az = _azimuth_grid(step)
    with torch.no_grad():
        refs = _reference_sweeps(model, face_model, n_faces, az, light_frame, device)
        out = [_turned(model, ref, az, values) for ref in refs]
    return {"images": np.stack([o[0][:, 0].cpu().numpy() for o in out]),
            "matched": np.stack([o[1].numpy() for o in out]), "values": values.tolist()}


def detail_kept(images: Any, recon: Any) -> dict[str, float]:
    """How much of the faces' detail reconstructions keep (beyond the paper; the DC-IGN issue's
    "eyes, nose and mouth visible"), in the gradient domain: ``edges_kept`` = 1 − |∇(y − x)|² /
    |∇x|² with ∇ the Sobel gradient (edges), and ``fine_kept`` the same with the Laplacian (the
    finest detail: eyes, nostrils, the mouth's line), pooled over the images; with the MSE per
    pixel. 1: the input's detail exactly; 0: no better than a flat image (below 0: worse, e.g.
    detail in the wrong place). Blur and misplaced edges both lower it. ``images`` and
    ``recon``: (N, H, W) or (N, 1, H, W) in [0, 1], the same shape."""
    import torch.nn.functional as F

    x, y = (torch.as_tensor(a, dtype=torch.float32) for a in (images, recon))
    if x.shape != y.shape or x.dim() not in (3, 4) or len(x) == 0:
        raise ValueError(f"need images and reconstructions of one shape (N, H, W) or (N, 1, H, W), got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    x, y = (a.reshape(len(a), 1, *a.shape[-2:]) for a in (x, y))
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)
    lap = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)

    def grad(a):
        return float((F.conv2d(a, sobel) ** 2 + F.conv2d(a, sobel.transpose(2, 3)) ** 2).sum())

    def fine(a):
        return float((F.conv2d(a, lap) ** 2).sum())

    if grad(x) == 0:
        raise ValueError("the images are flat: no detail to keep")
    return {"mse": float(((y - x) ** 2).mean()), "edges_kept": 1 - grad(y - x) / grad(x),
            "fine_kept": 1 - fine(y - x) / fine(x)}


def readout_r2(z: Any, y: Any, fit: Any, ridge: float = 1e-3) -> float:
    """R² on the rows outside ``fit`` of a linear read-out of ``y`` from ``z`` (least squares
    with a small ridge ``ridge``, plus an intercept) fitted on the rows in ``fit`` (a boolean
    mask). Split by face, not by image, so the read-out cannot learn a face's own value."""
    import numpy as np

    z, y, fit = np.asarray(z, np.float64), np.asarray(y, np.float64), np.asarray(fit, bool)
    if z.ndim != 2 or y.shape != (len(z),) or fit.shape != (len(z),):
        raise ValueError(f"need z (n, d), y (n,) and fit (n,); got {z.shape}, {y.shape}, {fit.shape}")
    if fit.sum() < 2 or (~fit).sum() < 2:
        raise ValueError("need at least two rows to fit and two to score")
    x = np.c_[z, np.ones(len(z))]
    w = np.linalg.solve(x[fit].T @ x[fit] + ridge * np.eye(x.shape[1]), x[fit].T @ y[fit])
    res, dev = y[~fit] - x[~fit] @ w, y[~fit] - y[~fit].mean()
    return float(1.0 - (res @ res) / max(float(dev @ dev), 1e-300))


def pose_in_identity_latents(model: DCIGN, batches: dict[str, list], n_extrinsic: int = 3) -> dict[str, Any]:
    """How much pose and light the *identity* latents z4…z200 carry (beyond the paper).

    ``batches``: kind → :class:`~genrepro.data.faces.FaceBatch` list (one face per batch, one
    factor varied). Pools the
    images of every kind; for each factor, a linear read-out from z4…z200 is fitted on the
    first half of each kind's batches and scored (R²) on the other half, i.e. on faces it never
    saw (:func:`readout_r2`); the same from z1…z3 for comparison. ``moves_within``: in the
    batches where the factor varies, the identity latents' variance inside a batch over their
    variance across batches (both summed over the latents): 0 when they ignore the factor."""
    import numpy as np

    from genrepro.dcign import encode

    zs, ys, fit, within = [], [], [], {}
    for kind, bs in batches.items():
        zk = [encode(model, b.images).cpu().double().numpy() for b in bs]
        zs += zk
        ys += [b.factors.cpu().double().numpy() for b in bs]
        fit += [np.full(len(z), i < len(bs) // 2) for i, z in enumerate(zk)]
        if kind in FACTOR_OF and len(zk) > 1:
            ident = np.stack([z[:, n_extrinsic:] for z in zk])                 # (batches, 20, d)
            ratio = ident.var(1).mean(0).sum() / max(float(ident.mean(1).var(0).sum()), 1e-12)
            within[FACTOR_OF[kind]] = round(float(ratio), 3)
    z, y, fit = np.concatenate(zs), np.concatenate(ys), np.concatenate(fit)
    factors = tuple(FACTOR_OF.values())   # the column order of FaceBatch.factors
    ident = {f: round(readout_r2(z[:, n_extrinsic:], y[:, j], fit), 3) for j, f in enumerate(factors)}
    clamped = {f: round(readout_r2(z[:, :n_extrinsic], y[:, j], fit), 3) for j, f in enumerate(factors)}
    return {"identity_r2": ident, "extrinsic_r2": clamped, "moves_within": within}


def measure_published(name: str, n_faces: int = 50, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The chapter's §3/§6 |r| of a published faces job (``python -m genrepro.train NAME --measure``):
    :func:`factor_correlations` of z1–z3 on ``n_faces`` unseen test faces per factor, rendered at the
    network's size and in the job's light frame. A partial publication is measured as published."""
    from genrepro import published
    from genrepro.data import faces

    if name not in faces_jobs():
        raise ValueError(f"--measure takes a DC-IGN faces job; {name!r} is not one (known: {', '.join(faces_jobs())})")
    if n_faces < 2:
        raise ValueError(f"--faces must be at least 2 (a correlation needs two faces), not {n_faces}")
    model, rec = published.load(name)
    model = model.to(device).eval()
    frame = light_frame(name)
    t = rendered_test_sets(faces.load_face_model(), model.cfg.image_size, n_faces, device=device, light_frame=frame)
    batches = {k: [t[k].batch(i, device) for i in range(len(t[k]))] for k in FACTOR_OF}
    fc = factor_correlations(model, batches, clamped=RUNS[name][0] != "baseline")
    return {**fc, "faces": n_faces, "light_frame": frame, "scale": published.scale_short(rec)}


__all__ = ["FACTOR_OF", "factor_correlations", "light_in_images", "measure_published", "per_face_fits",
           "pose_in_identity_latents", "readout_r2", "rendered_test_sets", "signs_by_side", "within_r_by_pose"]

