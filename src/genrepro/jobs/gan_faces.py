"""``gan-faces``: the TFD-size GAN on the rendered-faces stand-in (Goodfellow et al. 2014, §5).

The model and schedule are ``faces_experiment``'s (:mod:`genrepro.gan.experiment`) at the full
profile: ``tfd_pretrain``'s G (ReLU 8000 → sigmoid 8000 → sigmoid 2304) and D (maxout 1200×5 →
maxout 1200×5), 100 epochs at learning rate 0.05, on the 80 / 10 / 10 split (``_split_flat``,
seed 0) of the full profile's 100,000 rendered 48×48 faces ("rendered faces (stand-in for
TFD)"; the real TFD is not redistributable).

Its generator (≈ 83 M parameters, 333 MB in fp32) is far over the 16 MiB cap on a published
file, so the job publishes what the book shows instead: the first :data:`PUBLISHED_SAMPLES`
(1,000) of the 10,000 samples of the best validation checkpoint that the Parzen score is
computed from (the first seed of :data:`~genrepro.jobs.gan.SAMPLE_SEEDS`), rounded to uint8
(``round(255·x)``) in ``samples-<i>.npy`` files of at most :data:`SAMPLE_ROWS` rows; the
nearest training face of the first :data:`NEIGHBOURS` samples (Figure 2, ``neighbours.npy``);
Figure 3's interpolations (``grid.npy``, uint8 ``(rows, cols, 48, 48)``); and in the record the
Parzen scores over every sample seed, the best epoch and the training history.
:func:`genrepro.published.load` returns ``{"samples", "grid", "neighbours"}`` as arrays. All
10,000 samples would be 23 MB, more than a third of what the GPU machine can be sent with the
working tree (64 MiB): a 1,000-sample publication keeps the repository carriable.

Its checkpoints (≈ 1 GB with the momentum) cannot travel back from the GPU machine either, so
``python -m genrepro.gpu`` trains and publishes this job on the device in one go
(:attr:`GANFaces.publish_on_device`), rendering the 100,000 faces there when they are not
prepared (:meth:`GANFaces.prepare_data`, the same call as ``data_prep/faces.py --profile full``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genrepro import paths, profiles
from genrepro.gan import analysis
from genrepro.gan.model import GANConfig
from genrepro.gan.train import TrainConfig
from genrepro.jobs.gan import GANJob

SAMPLE_ROWS = 6_000            # samples a file: 6,000 × 2,304 bytes = 13.2 MiB (< 16 MiB)
PUBLISHED_SAMPLES = 1_000      # of the 10,000 scored (2.2 MiB): see the module docstring
GRID = {"rows": 10, "cols": 12, "seed": 3}   # Figure 3: 10 lines in z, 12 points each
NEIGHBOURS = 16                # Figure 2: samples shown beside their nearest training face
# gan-faces-reduced: mnist.yaml's widths on the 48×48 faces, so that a CPU trains it in ≈ 1.5 h
REDUCED = {"faces_g_width": 1200, "faces_d_units": 240}


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Images in [0, 1] as uint8, rounded to nearest."""
    return (x.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


class GANFaces(GANJob):
    """The paper's TFD row on the rendered-faces stand-in, with the full profile's settings.

    ``overrides`` replace entries of ``profiles.get("gan", "full")`` and ``images`` replaces the
    prepared faces (tests); the defaults are the full profile's."""

    name = "gan-faces"
    description = ("TFD-size GAN (G ReLU 8000 → sigmoid 8000, D maxout 1200×5 ×2) on rendered faces "
                   "(stand-in for TFD), Table 1 / Figures 2–3")
    priority = 12
    gpu_only = True
    datasets = ("faces",)
    publish_on_device = True    # its checkpoints are too large to bring back from the GPU machine

    def __init__(self, overrides: dict[str, Any] | None = None, images: np.ndarray | None = None):
        self._overrides, self._images = dict(overrides or {}), images

    def profile_settings(self) -> dict[str, Any]:
        return {**profiles.get("gan", "full"), **self._overrides}

    def gan_config(self) -> GANConfig:
        S = self.profile_settings()
        return GANConfig.tfd(g_width=S["faces_g_width"], d_units=S["faces_d_units"])

    def train_config(self) -> TrainConfig:
        S = self.profile_settings()   # exactly faces_experiment's TrainConfig
        return TrainConfig(epochs=S["faces_epochs"], steps_per_epoch=S["steps_per_epoch"],
                           monitor_every=S["monitor_every"], monitor_samples=S["monitor_samples"],
                           monitor_valid=S["monitor_valid"], seed=self.seed, lr=0.05)

    def settings(self) -> tuple[Any, ...]:
        return (*super().settings(), {"data": "flat_faces", "profile": "full", "split_seed": self.seed,
                                      "custom_images": self._images is not None})

    def code_modules(self) -> tuple[str, ...]:
        return (*super().code_modules(), "genrepro.gan.experiment")

    def data_files(self) -> list[str]:
        """What the GPU bundle carries: the face model; the 100,000 faces are rendered there."""
        return ["faces/manifest.json", "faces/face_model.npz"]

    def images(self) -> np.ndarray:
        if self._images is not None:
            return self._images
        from genrepro.data import faces

        return faces.load_flat_faces("full")["images"]

    def splits(self) -> dict[str, torch.Tensor]:
        from genrepro.gan.experiment import _split_flat

        train, valid, test = _split_flat(self.images(), seed=self.seed)
        return {"train": train, "valid": valid, "test": test}

    def protocol(self) -> dict[str, int]:
        """``parzen_ll.py``'s sizes: samples from G, validation and test examples."""
        S = self.profile_settings()
        return {"n_samples": S["parzen_samples"], "n_valid": S["parzen_valid"], "n_test": S["parzen_test"]}

    def published_bytes_estimate(self) -> int:
        S = self.profile_settings()
        d = self.gan_config().data_dim
        return (min(S["parzen_samples"], PUBLISHED_SAMPLES) + GRID["rows"] * GRID["cols"] + NEIGHBOURS) * d + 2**20

    def prepare_data(self, device: torch.device, log=print) -> None:
        """Render the full profile's flat faces into ``data/faces`` when they are missing: the
        call ``data_prep/faces.py --profile full --device D`` makes (its test batches are not
        made). Written uncompressed (fast), with a manifest entry naming where it was rendered."""
        import time

        from genrepro.data import faces
        from genrepro.data.prep import DataMissingError, atomic_file, sha256_file, write_json
        from genrepro.device import device_name

        if self._images is not None:
            return
        try:
            faces.flat_faces_file("full")
            return
        except DataMissingError:
            pass
        folder = paths.data_dir() / faces.NAME
        manifest = faces.load_manifest(folder)
        cfg = profiles.get("faces", "full")
        t0 = time.perf_counter()
        flat = faces.flat_faces(int(cfg["flat_n"]), faces.TEST_SEED, int(cfg["flat_size"]),
                                model=faces.load_face_model(folder), device=device)
        name = "flat_faces_full.npz"
        with atomic_file(folder / name) as f:
            np.savez(f, **flat)
        manifest.setdefault("profiles", {}).setdefault("full", {})["flat_faces"] = {
            "file": name, "sha256": sha256_file(folder / name), "n": int(cfg["flat_n"]),
            "image_size": int(cfg["flat_size"]), "label": faces.STAND_IN_LABEL, "seed": faces.TEST_SEED,
            "rendered_on": device_name(device), "by": "genrepro.jobs.gan_faces.GANFaces.prepare_data"}
        write_json(folder / "manifest.json", manifest)
        log(f"{self.name}: rendered {len(flat['images'])} faces on {device_name(device)} "
            f"in {time.perf_counter() - t0:.0f} s")

    def run(self, budget, device: torch.device, progress: bool = True):
        """Render the flat faces first when they are missing (:meth:`prepare_data`), then train."""
        self.prepare_data(device)
        return super().run(budget, device, progress)

    def publish_files(self, out: Path, device: torch.device) -> dict[str, Any]:
        n = self.protocol()
        x = self.splits()
        trainer, best = self.best_trainer(device, x)
        scores = self.score(trainer, x, **n)
        first = scores[0]
        side = math.isqrt(self.gan_config().data_dim)
        drawn = trainer.sample(n["n_samples"], seed=first["sample_seed"]).cpu()
        samples = to_uint8(drawn[:PUBLISHED_SAMPLES])
        files = []
        for i, start in enumerate(range(0, len(samples), SAMPLE_ROWS)):
            files.append(f"samples-{i}.npy")
            np.save(out / files[-1], samples[start:start + SAMPLE_ROWS].reshape(-1, side, side))
        grid = to_uint8(analysis.interpolate(trainer.G.cpu(), GRID["rows"], GRID["cols"], GRID["seed"]))
        np.save(out / "grid.npy", grid.reshape(GRID["rows"], GRID["cols"], side, side))
        # Figure 2's right column: the nearest training face of each of the first NEIGHBOURS samples
        nn = analysis.nearest_neighbours(drawn[:NEIGHBOURS], x["train"])
        np.save(out / "neighbours.npy", to_uint8(x["train"][nn]).reshape(-1, side, side))
        images = self.images()
        return {
            "model": "genrepro.gan.FacesSamples", "gan_config": asdict(self.gan_config()),
            "train_config": asdict(self.train_config()),
            "samples": {"files": files, "rows_per_file": SAMPLE_ROWS, "n": len(samples), "n_scored": len(drawn),
                        "dtype": "uint8",
                        "shape": [side, side], "sample_seed": first["sample_seed"], "quantised": "round(255·x)",
                        "of": f"the best validation checkpoint (epoch {best['epoch']})"},
            "grid": {"file": "grid.npy", **GRID, "what": "Figure 3: straight lines in z"},
            "neighbours": {"file": "neighbours.npy", "n": NEIGHBOURS,
                           "what": "Figure 2: the nearest training face (Euclidean) of samples 0…n−1"},
            "data": {"dataset": "rendered faces (stand-in for TFD)", "n_train": len(x["train"]),
                     "n_valid": len(x["valid"]), "n_test": len(x["test"]), "split_seed": self.seed,
                     "images_sha256": hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()},
            "metrics": self.parzen_metrics(scores, best, n),
            "history": trainer.history,
        }


class GANFacesReduced(GANFaces):
    """``gan-faces`` at ``mnist.yaml``'s widths (G ReLU 1200 → sigmoid 1200 → sigmoid 2304, D maxout
    240×5 ×2; the paper's TFD model: 8000 and 1200×5), everything else as ``gan-faces``: the
    same 100,000 faces and split, 100 epochs, learning rate 0.05, Parzen protocol and published
    form. It trains on a CPU (one thread: ≈ 50 s an epoch here); every number it publishes says
    that it is a reduction. ``gan-faces`` stays the paper-width GPU job; the chapter shows that
    one when it is published, else this one."""

    name = "gan-faces-reduced"
    description = ("TFD-size GAN reduced to mnist.yaml's widths (G ReLU 1200 → sigmoid 1200, D maxout 240×5 ×2; "
                   "paper: 8000, 1200×5) on rendered faces (stand-in for TFD), CPU, Table 1 / Figures 2–3")
    priority = 13
    gpu_only = False

    def __init__(self, overrides: dict[str, Any] | None = None, images: np.ndarray | None = None):
        super().__init__({**REDUCED, **(overrides or {})}, images)

    def scale_label(self, st) -> str:
        g = self.gan_config()
        return st.reduction_label(f"reduced widths (G {g.g_hidden[0]}, D maxout {g.d_units[0]}×5; paper: 8000, 1200×5)")
