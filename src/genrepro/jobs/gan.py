"""GAN jobs (Goodfellow et al. 2014, §5): the MNIST model and the TFD-size faces model.

``gan-mnist`` trains ``mnist.yaml``'s model for the full profile's 300 epochs (validation Parzen
every 5 epochs, best checkpoint kept) and publishes its best generator with the Table 1 score
of ``parzen_ll.py``'s protocol, repeated over several sample seeds. ``gan-faces`` trains the
TFD-size model (G ReLU 8000 → sigmoid 8000 → sigmoid 2304) on the rendered-faces stand-in; its
generator (≈ 83 M parameters) does not fit the publishing cap, so it publishes its 10,000
Parzen samples as uint8 and an interpolation grid instead.

On CUDA a GAN job turns on TF32 matmuls for the call (:func:`~genrepro.jobs.base.cuda_speed`),
as the DC-IGN jobs do; nothing else changes (fp32, eager). A GAN's trajectory is chaotic, so
any numeric change gives another run of the same distribution; whether TF32 moves the Parzen
score beyond run-to-run noise has not been measured (no GPU yet; ``gan-mnist-seed1`` measures
that noise). The MNIST step is launch-bound at batch 100 on a GPU: CUDA graphs would be the
next speed-up, left out until it can be timed and checked on a device.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from genrepro import parzen, profiles
from genrepro.gan.model import GANConfig
from genrepro.gan.train import EXTENDABLE, TrainConfig, Trainer
from genrepro.jobs.base import (RECORD, Budget, Job, OutOfBudget, Status, cuda_speed, published_root,
                                record_only_fields)

NOISE_LABEL = {"uniform": "uniform on [-sqrt(3), sqrt(3)] (final mnist.yaml)",
               "gaussian": "N(0, 1) (pylearn2 Generator default, mnist.yaml before f77a509)"}
SAMPLE_SEEDS = (1, 2, 3, 4, 5)   # Parzen scores of the best checkpoint over these sample draws
CI_CHECK = {"n_samples": 1000, "n_test": 500}   # a subset a test can re-score on a CPU in seconds


def mnist_splits() -> dict[str, torch.Tensor]:
    """MNIST as ``mnist.yaml``: train[0:50000], valid = train[50000:60000], the 10,000 test."""
    from genrepro.data import mnist

    data = mnist.load()
    flat = lambda a: torch.as_tensor(a.reshape(len(a), -1), dtype=torch.float32) / 255.0  # noqa: E731
    return {"train": flat(data.x_train[:50000]), "valid": flat(data.x_train[50000:]), "test": flat(data.x_test)}


class GANJob(Job):
    chapter = "gan"
    seed = 0

    def gan_config(self) -> GANConfig:
        raise NotImplementedError

    def train_config(self) -> TrainConfig:
        raise NotImplementedError

    def splits(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def settings(self) -> tuple[Any, ...]:
        # without the epoch count: a finished run trains on when it grows (gan.train.same_settings)
        t = {k: v for k, v in asdict(self.train_config()).items() if k not in EXTENDABLE}
        return (self.gan_config(), t)

    def code_modules(self) -> tuple[str, ...]:
        return ("genrepro.gan.model", "genrepro.gan.train")

    def _checkpoint(self) -> dict | None:
        p = self.ckpt_dir() / "last.pt"
        return torch.load(p, map_location="cpu", weights_only=False) if p.is_file() else None

    def status(self) -> Status:
        st = self._checkpoint()
        return Status(st["epoch"] if st else 0, self.train_config().epochs, "epochs")

    def wall_time_s(self) -> float:
        st = self._checkpoint()
        return sum(h["seconds"] for h in st["history"]) if st else 0.0

    def trainer(self, device: torch.device | str, x: dict[str, torch.Tensor] | None = None) -> Trainer:
        x = x if x is not None else self.splits()
        return Trainer(self.gan_config(), self.train_config(), x["train"], x["valid"], self.ckpt_dir(), device=device)

    def run(self, budget: Budget, device: torch.device, progress: bool = True) -> Status:
        """Train (resuming from ``last.pt``) until done or the budget ends. A cut inside an epoch
        drops that epoch's unfinished steps: the checkpoint of the last whole epoch stays."""
        self.note_device(device)
        trainer = self.trainer(device)
        try:
            with cuda_speed(device):   # TF32 matmuls on CUDA (see the module's docstring)
                trainer.train(on_step=budget.check, progress=progress)
        except OutOfBudget:
            pass
        return self.status()

    def best_trainer(self, device: torch.device | str, x: dict[str, torch.Tensor]) -> tuple[Trainer, dict]:
        trainer = self.trainer(device, x)
        if not trainer.best_path.is_file():
            raise RuntimeError(f"{self.name} has no validation score yet (first one after "
                               f"{self.train_config().monitor_every} epochs): run it longer")
        trainer.load(trainer.last_path)
        return trainer, trainer.load_best()

    def protocol(self) -> dict[str, int]:
        """``parzen_ll.py``'s sizes (full profile): samples from G, validation and test examples."""
        S = profiles.get("gan", "full")
        return {"n_samples": S.parzen_samples, "n_valid": S.parzen_valid, "n_test": S.parzen_test}

    def score(self, trainer: Trainer, x: dict[str, torch.Tensor], n_samples: int, n_valid: int,
              n_test: int) -> list[dict]:
        """``parzen_ll.py``'s protocol on the best G, once per seed of :data:`SAMPLE_SEEDS`."""
        out = []
        for s in SAMPLE_SEEDS:
            r = parzen.evaluate(x["test"][:n_test], x["valid"][:n_valid], trainer.sample(n_samples, seed=s).cpu())
            out.append({"sample_seed": s, "mean": r["mean"], "se": r["se"], "sigma": r["sigma"]})
        return out


    @staticmethod
    def parzen_metrics(scores: list[dict], best: dict, protocol: dict[str, int]) -> dict[str, Any]:
        """The record's metrics: the first sample seed's score (Table 1's row), the spread over
        sample seeds, and the best checkpoint's epoch and validation score."""
        means = np.array([s["mean"] for s in scores])
        return {"parzen_mean": scores[0]["mean"], "parzen_se": scores[0]["se"], "sigma": scores[0]["sigma"],
                "sample_seed": scores[0]["sample_seed"], "parzen_by_sample_seed": scores,
                "parzen_sample_seed_sd": float(means.std(ddof=1)) if len(means) > 1 else None,
                "best_epoch": best["epoch"], "best_valid_parzen": best["valid_parzen"], "protocol": protocol}


class GANMnist(GANJob):
    """``mnist.yaml`` trained to the profile's ``job_epochs`` (1,000): the chapter's 300 epochs and
    on, since ``mnist.yaml`` has no stopping rule and validation Parzen still rose at 275."""

    name = "gan-mnist"
    description = "MNIST GAN, mnist.yaml (G 1200-1200 ReLU, D maxout 240×5 ×2), Table 1 / Figures 2–3"
    priority = 10
    datasets = ("mnist",)
    noise = "uniform"
    weights_dtype = torch.float32
    record_only = False   # True: a comparison variant, published as its record (see keeps_weights)

    def keeps_weights(self, complete: bool) -> bool:
        """Whether a publication carries the generator: ``gan-mnist``'s does (the chapter samples
        it and CI re-scores it); a comparison variant's does not, partial or complete, since the
        chapter reads only its record (Parzen curve and scores) and a partial GAN publication is
        no resume point (its checkpoint stays on the machine that trained it). The record keeps
        the generator's SHA-256; the published set has a size cap (jobs.base.MAX_SET_BYTES)."""
        return not self.record_only

    def gan_config(self) -> GANConfig:
        return GANConfig(noise=self.noise)

    def train_config(self) -> TrainConfig:
        S = profiles.get("gan", "full")
        return TrainConfig(epochs=S.job_epochs, steps_per_epoch=S.steps_per_epoch, monitor_every=S.monitor_every,
                           monitor_samples=S.monitor_samples, monitor_valid=S.monitor_valid, seed=self.seed)

    def splits(self) -> dict[str, torch.Tensor]:
        return mnist_splits()

    def publish_files(self, out: Path, device: torch.device) -> dict[str, Any]:
        x, n = self.splits(), self.protocol()
        trainer, best = self.best_trainer(device, x)
        weights = {k: v.detach().cpu().to(self.weights_dtype).contiguous() for k, v in trainer.G.state_dict().items()}
        keep = self.keeps_weights(self.status().complete)
        if keep:
            save_file(weights, str(out / "generator.safetensors"))
        kept = {} if keep else record_only_fields(weights)
        # score exactly what is published (fp16 rounding moves a Parzen score by a few 0.01 nats)
        trainer.G.load_state_dict({k: v.float() for k, v in weights.items()})
        scores = self.score(trainer, x, **n)
        smp = trainer.sample(CI_CHECK["n_samples"], seed=scores[0]["sample_seed"]).cpu()
        ci = parzen.log_likelihood(x["test"][:CI_CHECK["n_test"]], smp, scores[0]["sigma"])
        return {
            "model": "genrepro.gan.Generator", "gan_config": asdict(self.gan_config()),
            "train_config": asdict(self.train_config()), "noise": NOISE_LABEL[self.noise],
            "weights_dtype": str(self.weights_dtype).removeprefix("torch."), **kept,
            "metrics": self.parzen_metrics(scores, best, n),
            # test[:n_test] scored under the first n_samples of the same draw, at the chosen σ
            "ci_check": {**CI_CHECK, "sample_seed": scores[0]["sample_seed"], "sigma": scores[0]["sigma"],
                         "mean": float(np.mean(ci)), "se": float(np.std(ci) / np.sqrt(len(ci)))},
            "history": trainer.history,
            "earlier_publications": self.earlier_publications(),
        }

    def earlier_publications(self) -> list[dict[str, Any]]:
        """The Table 1 numbers of every earlier publication of this job (e.g. the 300-epoch
        model before training went on), so that what more epochs bought stays measurable."""
        p = published_root() / self.name / RECORD
        if not p.is_file():
            return []
        old = json.loads(p.read_text())
        m, prov = old.get("metrics", {}), old.get("provenance", {})
        entry = {"done": prov.get("done"), "unit": prov.get("unit"), "git_commit": prov.get("git_commit"),
                 "published": prov.get("published"), **{k: m.get(k) for k in (
                     "parzen_mean", "parzen_se", "sigma", "parzen_sample_seed_sd", "best_epoch", "best_valid_parzen")}}
        return [*old.get("earlier_publications", []), entry]


class GANMnistGauss(GANMnist):
    """The noise-prior A/B of the gap issue: ``gan-mnist`` with z ~ N(0, 1) instead of uniform,
    same seed and schedule, compared at equal epochs on validation Parzen."""

    name = "gan-mnist-gauss"
    description = "MNIST GAN as gan-mnist with Gaussian noise N(0, 1): the noise-prior A/B"
    priority = 12
    noise = "gaussian"
    weights_dtype = torch.float16   # the precision its scores are of (its generator is not kept: record_only)
    record_only = True


class GANMnistSeed1(GANMnist):
    """The run-to-run spread of the gap issue: ``gan-mnist`` with training seed 1 (weights,
    noise and minibatch order), everything else equal."""

    name = "gan-mnist-seed1"
    description = "MNIST GAN as gan-mnist with training seed 1: the run-to-run spread"
    priority = 13
    seed = 1
    weights_dtype = torch.float16
    record_only = True


class GANMnistGaussSeed1(GANMnistGauss):
    """The noise-prior A/B's second seed: ``gan-mnist-gauss`` with training seed 1, so that each
    prior has two seeds and a prior effect can be told from the run-to-run spread."""

    name = "gan-mnist-gauss-seed1"
    description = "MNIST GAN as gan-mnist-gauss with training seed 1: the A/B's second seed"
    priority = 14
    seed = 1


class GANMnistKMeans(Job):
    """Theis et al. (2016, §3.2)'s k-means baseline under the same Parzen protocol: 10,000
    centroids of the 50,000 training images score far above any generator, and 10,000 real
    training images used as 'samples' score above the paper's GAN. One k-means fit (≈ 15 min on
    2 CPU cores; it cannot be cut and resumed, so a call starts it only with ≥ 20 min left)."""

    name = "gan-mnist-kmeans"
    chapter = "gan"
    description = "Theis et al. baselines of Table 1's protocol: k-means (10,000 centroids) and real images"
    priority = 11
    datasets = ("mnist",)
    seed = 0
    min_budget_s = 20 * 60

    def settings(self) -> tuple[Any, ...]:
        S = profiles.get("gan", "full")
        return (S.kmeans_k, S.kmeans_fit, self.seed)

    def code_modules(self) -> tuple[str, ...]:
        return ("genrepro.gan.analysis",)

    @property
    def path(self) -> Path:
        return self.ckpt_dir() / "centroids.npy"

    def status(self) -> Status:
        return Status(int(self.path.is_file()), 1, "k-means fits")

    def wall_time_s(self) -> float:
        p = self.ckpt_dir() / "seconds.txt"
        return float(p.read_text()) if p.is_file() else 0.0

    def run(self, budget: Budget, device: torch.device, progress: bool = True) -> Status:
        import time

        from genrepro.data.prep import atomic_file
        from genrepro.gan import analysis

        if self.status().complete or budget.left() < self.min_budget_s:
            return self.status()
        self.note_device(torch.device("cpu"))
        S = profiles.get("gan", "full")
        t = time.perf_counter()
        cents = analysis.kmeans_centroids(mnist_splits()["train"][:S.kmeans_fit].numpy(), S.kmeans_k, seed=self.seed)
        with atomic_file(self.path) as f:
            np.save(f, cents)
        (self.ckpt_dir() / "seconds.txt").write_text(f"{time.perf_counter() - t:.1f}")
        return self.status()

    def publish_files(self, out: Path, device: torch.device) -> dict[str, Any]:
        """Publishes the fit as its cluster labels (uint16, one per training image: 0.1 MB instead
        of 15.7 MB of fp16 centroids); the centroids are the means of the labelled images
        (:func:`centroids_from_labels`), i.e. the fitted centroids after one more Lloyd update,
        and the scores below are of exactly those."""
        S = profiles.get("gan", "full")
        x = mnist_splits()
        from genrepro.gan.analysis import nearest_neighbours

        fitted = torch.as_tensor(np.load(self.path))
        train = x["train"][:S.kmeans_fit]
        labels = nearest_neighbours(train, fitted)
        np.save(out / "labels.npy", labels.astype(np.uint16))
        cents = centroids_from_labels(labels, train, S.kmeans_k)
        perm = torch.randperm(50000, generator=torch.Generator().manual_seed(self.seed))[:S.parzen_samples]
        score = lambda s: parzen.evaluate(x["test"][:S.parzen_test], x["valid"][:S.parzen_valid], s)  # noqa: E731
        km, real = score(cents), score(x["train"][perm])
        keep = ("mean", "se", "sigma")
        return {"model": "genrepro.gan.KMeansCentroids", "k": S.kmeans_k, "fit_on": S.kmeans_fit,
                "labels": "labels.npy", "centroids_sha256": tensor_sha256(cents),
                "lloyd_update_max_change": float((cents - fitted).abs().max()),
                "metrics": {"kmeans": {k: km[k] for k in keep},
                            "real_training_images": {"n": S.parzen_samples, "perm_seed": self.seed,
                                                     **{k: real[k] for k in keep}}},
                "history": []}


def centroids_from_labels(labels: torch.Tensor | np.ndarray, x: torch.Tensor, k: int) -> torch.Tensor:
    """The mean of the rows of ``x`` in each of the ``k`` clusters (float32, summed in float64 in
    a fixed order, so the bytes are the same on every machine). A cluster with no row is an error:
    the labels then do not come from a fit of these images."""
    lab = np.asarray(labels, dtype=np.int64)
    if lab.shape != (len(x),) or lab.min(initial=0) < 0 or lab.max(initial=0) >= k:
        raise ValueError(f"labels of shape {lab.shape} with values in [{lab.min(initial=0)}, {lab.max(initial=0)}] "
                         f"do not label {len(x)} images with {k} clusters")
    order = np.argsort(lab, kind="stable")
    counts = np.bincount(lab, minlength=k)
    if (counts == 0).any():
        raise ValueError(f"{int((counts == 0).sum())} of {k} clusters have no image: these labels are not "
                         "a k-means fit of these images")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sums = np.add.reduceat(x.numpy().astype(np.float64)[order], starts, axis=0)
    return torch.as_tensor((sums / counts[:, None]).astype(np.float32))


def tensor_sha256(t: torch.Tensor) -> str:
    """SHA-256 of a tensor's bytes (C order, its own dtype)."""
    from genrepro.data.prep import sha256_bytes

    return sha256_bytes(np.ascontiguousarray(t.numpy()).tobytes())
