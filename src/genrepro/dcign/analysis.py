"""Analysis helpers for the DC-IGN chapter (Kulkarni et al. 2015 §4.1, §4.1.1, §4.2).

* :func:`encode` / :func:`decode`: images → latent means μ, latents → images;
* :func:`latent_sweep`: vary one latent of one image's code (Figures 4, 5, 8);
* :func:`most_varying_latent` / :func:`azimuth_latent_of_baseline`: the entangled VAE's
  "azimuth" latent, the one that varies most over azimuth-varied batches (§4.1.1);
* :func:`abs_pearson`, :func:`other_latents_movement`, :func:`disentanglement`: how well
  an extrinsic latent tracks its factor and how still the other latents stay when only that
  factor changes;
* :class:`AzimuthCalibration`, :func:`novel_view_errors`, :func:`binned_mean`: re-render a
  test face at another azimuth by setting its azimuth latent (§4.1, Figure 6-style);
* :func:`reconstruction_mse`: per-pixel reconstruction error (chairs, §4.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from genrepro.dcign.batches import EXTRINSIC, resize
from genrepro.dcign.model import DCIGN

__all__ = ["AzimuthCalibration", "abs_pearson", "azimuth_latent_of_baseline", "binned_mean",
           "calibrate_azimuth", "decode", "disentanglement", "encode", "latent_sweep",
           "most_varying_latent", "novel_view_errors", "other_latents_movement",
           "reconstruction_mse"]


def _device(model: DCIGN) -> torch.device:
    return next(model.parameters()).device


def _images(x: torch.Tensor | np.ndarray, model: DCIGN) -> torch.Tensor:
    """(N, H, W) or (N, 1, H, W), uint8 or float in [0, 1] → float (N, 1, S, S) on the model's device."""
    t = torch.as_tensor(x)
    if t.dtype == torch.uint8:
        t = t.float() / 255
    t = t.to(_device(model), torch.float32)
    if t.dim() == 3:
        t = t[:, None]
    return resize(t, model.cfg.image_size)


@torch.no_grad()
def encode(model: DCIGN, images: torch.Tensor | np.ndarray, batch: int = 200) -> torch.Tensor:
    """Latent means μ ``(N, latent_dim)`` of ``images`` (no sampling, no clamping)."""
    was = model.training
    model.eval()
    x = _images(images, model)
    out = torch.cat([model.encode(x[i:i + batch])[0] for i in range(0, len(x), batch)]) \
        if len(x) else torch.zeros(0, model.cfg.latent_dim, device=x.device)
    model.train(was)
    return out


@torch.no_grad()
def decode(model: DCIGN, z: torch.Tensor, batch: int = 200) -> torch.Tensor:
    """Images ``(N, 1, H, W)`` in [0, 1] decoded from latents ``z`` ``(N, latent_dim)``."""
    was = model.training
    model.eval()
    z = torch.as_tensor(z, dtype=torch.float32, device=_device(model))
    out = torch.cat([model.decode(z[i:i + batch]) for i in range(0, len(z), batch)])
    model.train(was)
    return out


def latent_sweep(model: DCIGN, image: torch.Tensor | np.ndarray, index: int,
                 values: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Decode ``image``'s code μ with latent ``index`` set to each of ``values``, the others
    fixed: ``(len(values), 1, H, W)`` (Kulkarni et al. 2015 Figures 4, 5 and 8)."""
    if not 0 <= int(index) < model.cfg.latent_dim:
        raise ValueError(f"latent index {index} out of range for {model.cfg.latent_dim} latents")
    img = torch.as_tensor(image)
    while img.dim() < 4:
        img = img[None]
    mu = encode(model, img[:1])
    v = torch.as_tensor(values, dtype=torch.float32, device=mu.device).reshape(-1)
    z = mu.repeat(len(v), 1)
    z[:, int(index)] = v
    return decode(model, z)


def most_varying_latent(model: DCIGN, batches: torch.Tensor | Sequence[torch.Tensor]) -> int:
    """The latent whose μ has the largest variance within single-factor batches (averaged over
    the batches given; one ``(B, 1, H, W)`` tensor or a sequence of them)."""
    if isinstance(batches, torch.Tensor) and batches.dim() <= 4:
        batches = [batches]
    var = torch.stack([encode(model, b).var(0) for b in batches]).mean(0)
    return int(var.argmax())


def azimuth_latent_of_baseline(model: DCIGN, az_batch: torch.Tensor | Sequence[torch.Tensor]) -> int:
    """The plain VAE's azimuth latent: the one with the largest variance over azimuth-varied
    batch(es) (Kulkarni et al. 2015 §4.1.1)."""
    return most_varying_latent(model, az_batch)


def abs_pearson(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """|Pearson r| of two 1-D samples (0 when either is constant)."""
    x = np.asarray(torch.as_tensor(x).cpu(), np.float64).ravel()
    y = np.asarray(torch.as_tensor(y).cpu(), np.float64).ravel()
    if x.shape != y.shape or len(x) < 2:
        raise ValueError("need two samples of the same length >= 2")
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc ** 2).sum() * (yc ** 2).sum())
    return float(abs((xc * yc).sum()) / den) if den > 0 else 0.0


def other_latents_movement(mus: Sequence[torch.Tensor | np.ndarray], keep: Sequence[int],
                           ref_std: torch.Tensor | np.ndarray, tol: float = 1e-2) -> float:
    """How much the latents *not* in ``keep`` move within single-factor batches.

    ``mus``: the μ of each batch, ``(B, D)``; ``ref_std``: each latent's std over all test
    images (all kinds). Returns the mean, over the other latents whose ``ref_std > tol`` (the
    ones in use — a VAE leaves many at the prior, with μ ≈ 0 everywhere), of
    (mean within-batch std) / ``ref_std``: 0 = they stay put, ≈ 1 = they move as much as
    anywhere. NaN when no other latent is in use."""
    within = np.mean([np.asarray(torch.as_tensor(m).cpu(), np.float64).std(0, ddof=1) for m in mus], 0)
    ref = np.asarray(torch.as_tensor(ref_std).cpu(), np.float64)
    use = ref > tol
    use[list(keep)] = False
    return float(np.mean(within[use] / ref[use])) if use.any() else float("nan")


def disentanglement(model: DCIGN, test_sets: Mapping[str, object],
                    latents: Mapping[str, int] | None = None, max_batches: int | None = None,
                    device: torch.device | str | None = None) -> dict[str, dict[str, float]]:
    """Per extrinsic factor (azimuth, elevation, light): ``abs_r``, the |Pearson r| between its
    latent's μ and the true factor over that kind's test batches, and ``others_move``,
    :func:`other_latents_movement` of every other latent in those batches.

    ``test_sets``: ``load_test_batches(profile)`` (kind → ``FaceTestSet``); ``latents``: kind
    → latent index (default z1, z2, z3 as trained; for the baseline pass the most varying
    latent of each kind)."""
    latents = dict(EXTRINSIC if latents is None else latents)
    factor = {"AZ_VARIED": "azimuth", "EL_VARIED": "elevation", "LIGHT_VARIED": "light"}
    dev = device if device is not None else _device(model)
    mus: dict[str, list[torch.Tensor]] = {}
    truth: dict[str, list[torch.Tensor]] = {}
    for kind, ts in test_sets.items():
        n = len(ts) if max_batches is None else min(len(ts), max_batches)
        fbs = [ts.batch(i, dev) for i in range(n)]
        mus[kind] = [encode(model, fb.images) for fb in fbs]
        if kind in factor:
            truth[kind] = [getattr(fb, factor[kind]) for fb in fbs]
    ref_std = torch.cat([m for ms in mus.values() for m in ms]).std(0)
    out = {}
    for kind, idx in latents.items():
        z = torch.cat(mus[kind])[:, idx]
        out[kind] = {"latent": int(idx), "abs_r": abs_pearson(z, torch.cat(truth[kind])),
                     "others_move": other_latents_movement(mus[kind], [idx], ref_std)}
    return out


@dataclass(frozen=True)
class AzimuthCalibration:
    """``z_az = polyval(coef, azimuth)``: the value the encoder gives latent ``index`` at an
    azimuth (degrees), fitted on training azimuth-varied batches."""

    index: int
    coef: tuple[float, ...]

    def __call__(self, azimuth: np.ndarray | torch.Tensor | float) -> np.ndarray:
        return np.polyval(self.coef, np.asarray(torch.as_tensor(azimuth).cpu(), np.float64))


def calibrate_azimuth(model: DCIGN, batches: Iterable, index: int, deg: int = 3) -> AzimuthCalibration:
    """Least-squares polynomial (degree ``deg``) from azimuth to μ[index] over azimuth-varied
    batches (``FaceBatch`` objects with ``.images`` and ``.azimuth``), pooled over identities."""
    az, z = [], []
    for fb in batches:
        az.append(np.asarray(fb.azimuth.cpu(), np.float64))
        z.append(encode(model, fb.images)[:, index].double().cpu().numpy())
    az_, z_ = np.concatenate(az), np.concatenate(z)
    if len(az_) <= deg:
        raise ValueError(f"need more than {deg} calibration images")
    return AzimuthCalibration(int(index), tuple(float(c) for c in np.polyfit(az_, z_, deg)))


def novel_view_errors(model: DCIGN, batches: Iterable, calibration: AzimuthCalibration
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Novel-view synthesis (Kulkarni et al. 2015 §4.1): for every ordered pair (i, j) of
    images in each azimuth-varied test batch (one identity, elevation and light; only the
    azimuth differs), encode image i, set the azimuth latent to ``calibration(az_j)``, decode
    and compare with image j. Returns ``(rotation in degrees |az_j − az_i|, per-pixel MSE)``."""
    angles, errs = [], []
    for fb in batches:
        x = fb.images
        mu = encode(model, x)
        b = len(mu)
        i, j = [t.reshape(-1) for t in torch.meshgrid(torch.arange(b), torch.arange(b), indexing="ij")]
        off = i != j
        i, j = i[off], j[off]
        z = mu[i].clone()
        z[:, calibration.index] = torch.as_tensor(calibration(fb.azimuth[j.to(fb.azimuth.device)]),
                                                  dtype=z.dtype, device=z.device)
        target = _images(x, model)[j.to(mu.device)]
        errs.append(((decode(model, z) - target) ** 2).mean((1, 2, 3)).cpu().numpy())
        az = np.asarray(fb.azimuth.cpu(), np.float64)
        angles.append(np.abs(az[j.numpy()] - az[i.numpy()]))
    return np.concatenate(angles), np.concatenate(errs)


def binned_mean(x: np.ndarray, y: np.ndarray, edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of ``y`` in bins of ``x`` (NaN for an empty bin)."""
    x, y, edges = np.asarray(x), np.asarray(y), np.asarray(edges)
    which = np.digitize(x, edges[1:-1])
    mean = np.array([y[which == b].mean() if (which == b).any() else np.nan for b in range(len(edges) - 1)])
    se = np.array([y[which == b].std(ddof=1) / np.sqrt((which == b).sum()) if (which == b).sum() > 1
                   else np.nan for b in range(len(edges) - 1)])
    return mean, se


def reconstruction_mse(model: DCIGN, images: torch.Tensor | np.ndarray, batch: int = 200) -> float:
    """Mean per-pixel squared error of decode(μ(x)) against ``x`` in [0, 1] (chairs, §4.2);
    ``images`` ``(N, H, W)``/``(N, 1, H, W)``, uint8 or float, resized to the model's size."""
    total, count = 0.0, 0
    for k in range(0, len(images), batch):
        x = _images(images[k:k + batch], model)
        total += float(((decode(model, encode(model, x)) - x) ** 2).sum())
        count += x.numel()
    return total / max(count, 1)
