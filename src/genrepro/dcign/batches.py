"""Training batches for DC-IGN: which images, and which latents each batch trains.

Faces (Kulkarni et al. 2015 §3.2, §4.1): every batch holds 20 renders in which one factor
varies; the batch kind is drawn with the paper's ratio 1 : 1 : 1 : 10 (azimuth : elevation
: light : shape; shape batches are drawn ten times as often, cf. the original's
``--shape_bias`` option), and the kind fixes the active latents: z1 (index 0) for azimuth, z2 for
elevation, z3 for light, z4…z200 (indices 3…199) for the intrinsic (identity) batches.

Chairs (§4.2): batches of 20 views of ONE chair at one elevation where only the azimuth
varies (z1 active), and batches of 20 different chairs seen from one common view (z2…z200
active). The paper gives no ratio and the original repository has no chairs script; we draw
the two kinds 1 : 1 (:data:`CHAIR_RATIO`). When the training split has fewer than 20 chairs
(the quick profile's 19), the identity batch draws chairs with replacement.

Every batch is a pure function of ``(seed, step)``: the kind sequence is drawn up front
from a seeded generator and the k-th batch of a kind is ``FaceBatches(split="train",
seed).batch(kind, k)`` (chairs: a per-step ``SeedSequence``), so a resumed run sees exactly
the batches an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from genrepro.data.faces import AZ_VARIED, EL_VARIED, KINDS, LIGHT_VARIED, SHAPE_VARIED, FaceBatches

FACE_RATIO: tuple[int, ...] = (1, 1, 1, 10)        # AZ : EL : LIGHT : SHAPE (§3.2)
CHAIR_AZ, CHAIR_ID = CHAIR_KINDS = ("CHAIR_AZ_VARIED", "CHAIR_ID_VARIED")
CHAIR_RATIO: tuple[int, ...] = (1, 1)              # our choice (§4.2 gives none)
EXTRINSIC = {AZ_VARIED: 0, EL_VARIED: 1, LIGHT_VARIED: 2}   # kind -> its latent (z1, z2, z3)
_KIND_NS, _CHAIR_NS = 0xDC1_4, 0xDC1_C


def face_active(kind: str, latent_dim: int = 200) -> list[int]:
    """The latents a face batch of ``kind`` trains (Kulkarni et al. 2015 §3.2)."""
    if kind in EXTRINSIC:
        return [EXTRINSIC[kind]]
    if kind == SHAPE_VARIED:
        return list(range(len(EXTRINSIC), latent_dim))
    raise ValueError(f"unknown batch kind {kind!r}; valid kinds: {', '.join(KINDS)}")


def chair_active(kind: str, latent_dim: int = 200) -> list[int]:
    """Chairs (§4.2): z1 for azimuth-varied batches, z2…z200 for chair-varied ones."""
    if kind == CHAIR_AZ:
        return [0]
    if kind == CHAIR_ID:
        return list(range(1, latent_dim))
    raise ValueError(f"unknown chair batch kind {kind!r}; valid kinds: {', '.join(CHAIR_KINDS)}")


def kind_sequence(n: int, ratio: Sequence[int], seed: int) -> np.ndarray:
    """``n`` kind indices drawn i.i.d. with probabilities ∝ ``ratio`` from a seeded generator."""
    r = np.asarray(ratio, dtype=np.float64)
    if r.ndim != 1 or len(r) == 0 or (r < 0).any() or r.sum() <= 0:
        raise ValueError(f"ratio must be non-negative weights with a positive sum, got {ratio!r}")
    rng = np.random.default_rng(np.random.SeedSequence([_KIND_NS, int(seed)]))
    return rng.choice(len(r), size=int(n), p=r / r.sum())


@dataclass
class Batch:
    """One training batch: images ``(B, 1, H, W)`` in [0, 1], its kind and active latents."""

    images: torch.Tensor
    kind: str
    active: list[int]


class FaceSource:
    """Face batches rendered on the fly on ``device`` (Kulkarni et al. 2015 §3.2, §4.1).

    ``batch(step)`` is batch ``step`` of a run of ``steps`` steps; kinds follow
    :func:`kind_sequence` with ``ratio`` (AZ : EL : LIGHT : SHAPE). ``light_frame``: see
    :class:`~genrepro.data.faces.FaceBatches` (named in the settings only when not the
    camera frame, so the default's settings are what they were before the option existed)."""

    def __init__(self, face_model, image_size: int, steps: int, seed: int = 0,
                 device: torch.device | str = "cpu", ratio: Sequence[int] = FACE_RATIO,
                 latent_dim: int = 200, batch_size: int = 20, supersample: int = 2,
                 light_frame: str = "camera"):
        if len(ratio) != len(KINDS):
            raise ValueError(f"ratio needs {len(KINDS)} weights (AZ, EL, LIGHT, SHAPE)")
        self.image_size, self.steps, self.seed = int(image_size), int(steps), int(seed)
        self.ratio, self.latent_dim = tuple(int(r) for r in ratio), int(latent_dim)
        self.batch_size, self.supersample = int(batch_size), int(supersample)
        self.faces = FaceBatches(face_model, self.image_size, "train", self.seed, device,
                                 self.batch_size, self.supersample, light_frame)
        self.kinds = kind_sequence(self.steps, self.ratio, self.seed)
        # index of each step's batch among the batches of its kind
        self.index = np.zeros(self.steps, np.int64)
        for k in range(len(KINDS)):
            where = self.kinds == k
            self.index[where] = np.arange(int(where.sum()))

    def settings(self) -> dict:
        return {"data": "faces", "image_size": self.image_size, "steps": self.steps,
                "seed": self.seed, "ratio": list(self.ratio), "batch_size": self.batch_size,
                "supersample": self.supersample, "model_source": getattr(self.faces.model, "source", ""),
                **({"light_frame": self.faces.light_frame} if self.faces.light_frame != "camera" else {})}

    def batch(self, step: int) -> Batch:
        kind = KINDS[int(self.kinds[step])]
        fb = self.faces.batch(kind, int(self.index[step]))
        return Batch(fb.images, kind, face_active(kind, self.latent_dim))


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, C, h, w)`` float images resized to ``size``×``size`` (anti-aliased bilinear)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False).clamp_(0, 1)


class ChairSource:
    """Chair batches (Kulkarni et al. 2015 §4.2) from ``load_chairs("train", profile)``.

    ``CHAIR_AZ_VARIED``: one chair, one elevation, 20 distinct azimuths (z1 active);
    ``CHAIR_ID_VARIED``: 20 chairs at one common view (z2…z200 active). Images are resized
    to ``image_size`` when the prepared size differs."""

    def __init__(self, chairs, image_size: int, steps: int, seed: int = 0,
                 device: torch.device | str = "cpu", ratio: Sequence[int] = CHAIR_RATIO,
                 latent_dim: int = 200, batch_size: int = 20):
        if len(ratio) != len(CHAIR_KINDS):
            raise ValueError("ratio needs 2 weights (azimuth-varied, chair-varied)")
        imgs = np.asarray(chairs.images)
        if imgs.ndim != 4 or len(imgs) == 0:
            raise ValueError("chairs.images must be (models, views, H, W) with at least one model")
        self.device = torch.device(device)
        self.images = torch.as_tensor(imgs, device=self.device)          # uint8 (M, V, H, W)
        self.elevation = np.asarray(chairs.elevation, np.float64)
        self.azimuth = np.asarray(chairs.azimuth, np.float64)
        self.image_size, self.steps, self.seed = int(image_size), int(steps), int(seed)
        self.ratio = tuple(int(r) for r in ratio)
        self.latent_dim, self.batch_size = int(latent_dim), int(batch_size)
        self.kinds = kind_sequence(self.steps, self.ratio, self.seed)
        self.views_by_elevation = [np.flatnonzero(self.elevation == e) for e in np.unique(self.elevation)]

    def settings(self) -> dict:
        return {"data": "chairs", "image_size": self.image_size, "steps": self.steps,
                "seed": self.seed, "ratio": list(self.ratio), "batch_size": self.batch_size,
                "models": int(self.images.shape[0]), "views": int(self.images.shape[1])}

    def batch(self, step: int) -> Batch:
        kind = CHAIR_KINDS[int(self.kinds[step])]
        rng = np.random.default_rng(np.random.SeedSequence([_CHAIR_NS, self.seed, int(step)]))
        n_models, b = self.images.shape[0], self.batch_size
        if kind == CHAIR_AZ:
            views = self.views_by_elevation[rng.integers(len(self.views_by_elevation))]
            pick = rng.choice(views, size=b, replace=len(views) < b)
            sel = self.images[int(rng.integers(n_models))][torch.as_tensor(pick, device=self.device)]
        else:
            view = int(rng.integers(self.images.shape[1]))
            models = rng.choice(n_models, size=b, replace=n_models < b)
            sel = self.images[torch.as_tensor(models, device=self.device), view]
        x = resize(sel[:, None].float().div_(255), self.image_size)
        return Batch(x, kind, chair_active(kind, self.latent_dim))
