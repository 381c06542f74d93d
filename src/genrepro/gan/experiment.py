"""The chapter's experiments as functions, so that tests can run them on tiny data.

* :func:`train_and_score` — train a G/D pair (keeping the best validation checkpoint) and
  score it with the Parzen protocol of ``parzen_ll.py`` (Goodfellow et al. 2014, §5).
* :func:`faces_experiment` — the TFD experiment: on the real Toronto Face Database when a
  user prepared it (every fold, σ cross-validated per fold, standard error across folds, as
  the paper), else on rendered 48×48 faces, labelled as a stand-in everywhere.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genrepro import parzen
from genrepro.chapter import settings_tag, source_digest
from genrepro.data import faces as faces_data
from genrepro.data import tfd
from genrepro.gan.model import GANConfig, Generator
from genrepro.gan.train import TrainConfig, Trainer


@dataclass
class Scored:
    trainer: Trainer    # G and D hold the best checkpoint's weights
    best: dict          # the best checkpoint's epoch and validation score
    parzen: dict        # parzen.evaluate's result on the test set
    last_g: Generator   # G at the end of training (for comparison with the best)


def train_and_score(gcfg: GANConfig, tcfg: TrainConfig, train: torch.Tensor, valid: torch.Tensor,
                    test: torch.Tensor, ckpt_dir: Path, n_samples: int, n_valid: int, n_test: int,
                    device: torch.device | str = "cpu", progress: bool = True) -> Scored:
    """Train (resuming from ``ckpt_dir`` if a run was interrupted), load the best validation
    checkpoint, then draw ``n_samples`` from G, choose σ on ``valid[:n_valid]`` and score
    ``test[:n_test]`` (mean ± std/√N). Checkpoints live in a sub-folder named by a hash of
    the settings and of ``genrepro.gan``'s source, so a run resumes only from a checkpoint
    made with the same settings and training code."""
    tag = settings_tag(gcfg, tcfg, source_digest("genrepro.gan"))
    trainer = Trainer(gcfg, tcfg, train, valid, Path(ckpt_dir) / tag, device=device)
    trainer.train(progress=progress)
    last_g = copy.deepcopy(trainer.G).eval()
    best = trainer.load_best()
    samples = trainer.sample(n_samples, seed=tcfg.seed + 1)
    result = parzen.evaluate(test[:n_test], valid[:n_valid], samples)
    return Scored(trainer, best, result, last_g)


@dataclass
class FacesRun:
    result: dict                  # the numbers for the table and results JSON
    scored: Scored                # the (last fold's) trained model and its scores
    train: torch.Tensor | None    # its training images, for nearest neighbours (stand-in only)


def _split_flat(images: np.ndarray, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """80 / 10 / 10 split of the flat rendered faces into train / valid / test."""
    x = torch.as_tensor(images.reshape(len(images), -1), dtype=torch.float32) / 255.0
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_va = n_te = max(1, len(x) // 10)
    return x[perm[n_va + n_te:]], x[perm[:n_va]], x[perm[n_va:n_va + n_te]]


def faces_experiment(settings, profile: str, seed: int, ckpt_root: Path,
                     device: torch.device | str = "cpu", progress: bool = True,
                     tfd_path: Path | None = None, faces_path: Path | None = None) -> FacesRun:
    """The paper's TFD row: real TFD when prepared, else the rendered-faces stand-in.

    ``settings`` holds ``faces_epochs``, ``faces_g_width``, ``faces_d_units``,
    ``steps_per_epoch``, ``monitor_every``, ``monitor_samples``, ``monitor_valid``,
    ``parzen_samples``, ``parzen_valid``, ``parzen_test`` and ``tfd_folds``.
    """
    gcfg = GANConfig.tfd(g_width=settings["faces_g_width"], d_units=settings["faces_d_units"])
    tcfg = TrainConfig(epochs=settings["faces_epochs"], steps_per_epoch=settings["steps_per_epoch"],
                       monitor_every=settings["monitor_every"], monitor_samples=settings["monitor_samples"],
                       monitor_valid=settings["monitor_valid"], seed=seed, lr=0.05)
    n = dict(n_samples=settings["parzen_samples"], n_valid=settings["parzen_valid"],
             n_test=settings["parzen_test"])
    if tfd.available(tfd_path):
        data = tfd.load(tfd_path)
        folds = []
        for fold in range(settings["tfd_folds"]):
            split = {w: torch.as_tensor(data.split(fold, w)) for w in ("full_train", "valid", "test")}
            s = train_and_score(gcfg, tcfg, split["full_train"], split["valid"], split["test"],
                                ckpt_root / f"tfd-fold{fold}", device=device, progress=progress, **n)
            folds.append({"fold": fold, **{k: s.parzen[k] for k in ("mean", "se", "sigma")}})
        means = np.array([f["mean"] for f in folds])
        se = float(means.std(ddof=0) / math.sqrt(len(means))) if len(means) > 1 else folds[0]["se"]
        return FacesRun({"dataset": "TFD", "stand_in": False, "parzen_mean": float(means.mean()),
                         "parzen_se": se, "folds": folds, "sigma": [f["sigma"] for f in folds],
                         "se_kind": "across folds" if len(means) > 1 else "over test examples (one fold)"},
                        s, None)
    images = faces_data.load_flat_faces(profile, faces_path)["images"]
    train, valid, test = _split_flat(images, seed)
    s = train_and_score(gcfg, tcfg, train, valid, test, ckpt_root / "faces-stand-in",
                        device=device, progress=progress, **n)
    return FacesRun({"dataset": faces_data.STAND_IN_LABEL, "stand_in": True,
                     "parzen_mean": s.parzen["mean"], "parzen_se": s.parzen["se"], "sigma": s.parzen["sigma"],
                     "se_kind": "over test examples", "n_train": len(train), "n_valid": len(valid),
                     "n_test": len(test), "best_epoch": s.best["epoch"]}, s, train)
