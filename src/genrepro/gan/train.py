"""Adversarial training as in the original code (Goodfellow et al. 2014, Algorithm 1, k = 1).

The original (``mnist.yaml``: ``AdversaryCost2`` under pylearn2's stock SGD) updates D and G
*simultaneously* from one minibatch and one draw of G(z), which is what we do.

SGD on minibatches of 100 with momentum (pylearn2's rule v ← m·v − lr·g; θ ← θ + v); the
learning rate starts at 0.1 and is divided by 1.000004 after every update (floor 1e-6); the
momentum rises linearly from 0.5 to 0.7 over epochs 1–250 (pylearn2's MomentumAdjustor).
D minimises ½[BCE(1, D(x)) + BCE(0, D(G(z)))] while G minimises −log D(G(z)) (the
non-saturating objective of §3), both computed from the same dropout-perturbed scores. The original has no stopping
rule: we score a Parzen estimate on validation data every few epochs and keep the best
checkpoint. A checkpoint after every epoch makes a killed run resumable; training resumed
from it is bit-identical to an uninterrupted run on the same device (RNG states are saved),
and a finished run can be trained on to more epochs (:func:`same_settings`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genrepro import progress as prog
from genrepro.data.prep import atomic_file
from genrepro.gan.model import (
    Discriminator,
    GANConfig,
    Generator,
    constrain_col_norms,
)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the kept checkpoint."""


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (original ``mnist.yaml``; the chapter takes them from the profile)."""

    epochs: int = 300
    batch_size: int = 100
    lr: float = 0.1
    lr_decay: float = 1.000004
    lr_min: float = 1e-6
    momentum_init: float = 0.5
    momentum_final: float = 0.7
    momentum_start: int = 1
    momentum_saturate: int = 250
    steps_per_epoch: int | None = None   # None: one pass over the training set
    monitor_every: int = 5               # epochs between validation Parzen scores
    monitor_samples: int = 10_000        # samples from G for the validation score
    monitor_valid: int = 1_000           # validation examples for that score
    seed: int = 0


def momentum_at(cfg: TrainConfig, epochs_done: int) -> float:
    """pylearn2 MomentumAdjustor(start, saturate, final): linear in completed epochs."""
    width = cfg.momentum_saturate - cfg.momentum_start
    alpha = 1.0 if width <= 0 else min(max((epochs_done - cfg.momentum_start) / width, 0.0), 1.0)
    return cfg.momentum_init * (1 - alpha) + cfg.momentum_final * alpha


EXTENDABLE = ("epochs",)   # settings a checkpoint may differ in and still be resumed


def same_settings(stored: dict, cfg: GANConfig | TrainConfig) -> bool:
    """Whether a checkpoint's stored config allows resuming under ``cfg``.

    ``epochs`` may differ: the schedule (lr decay per update, momentum saturating at epoch 250)
    does not depend on it, so epoch e of a 300-epoch run is epoch e of a 1,000-epoch run and a
    finished run can be trained on. A field that the stored config lacks (added to the
    dataclass later) counts as equal when ``cfg`` has it at its default."""
    now = asdict(cfg)
    defaults = {f.name: f.default for f in fields(cfg)}
    for k, v in now.items():
        if k in EXTENDABLE:
            continue
        if k in stored:
            if stored[k] != v and not (isinstance(v, tuple) and list(v) == list(stored[k])):
                return False
        elif v != defaults.get(k, object()):
            return False
    return set(stored) <= set(now)


def _save_atomic(obj: dict, path: Path) -> None:
    """torch.save through prep.atomic_file: a crash never leaves a half-written checkpoint."""
    with atomic_file(path) as f:
        torch.save(obj, f)


class Trainer:
    """Trains one G/D pair on ``x_train`` (N, d) in [0, 1], checkpointing into ``ckpt_dir``."""

    def __init__(self, gcfg: GANConfig, tcfg: TrainConfig, x_train: torch.Tensor,
                 x_valid: torch.Tensor, ckpt_dir: str | Path, device: torch.device | str = "cpu"):
        self.gcfg, self.tcfg, self.device = gcfg, tcfg, torch.device(device)
        self.x_train = x_train.to(self.device, torch.float32)
        self.x_valid = x_valid.to(self.device, torch.float32)
        self.ckpt_dir = Path(ckpt_dir)
        torch.manual_seed(tcfg.seed)
        self.G = Generator(gcfg, pixel_means=self.x_train.mean(0)).to(self.device)
        self.D = Discriminator(gcfg).to(self.device)
        self.vel = {id(p): torch.zeros_like(p) for p in self.parameters()}
        self.lr, self.step, self.epoch = tcfg.lr, 0, 0
        self.history: list[dict] = []
        self.best: dict | None = None
        self.resumed_from: int | None = None   # epoch of the checkpoint a run resumed from

    def parameters(self) -> list[torch.nn.Parameter]:
        return [*self.G.parameters(), *self.D.parameters()]

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def last_path(self) -> Path:
        return self.ckpt_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.ckpt_dir / "best.pt"

    def state(self) -> dict:
        params = self.parameters()
        return {
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "vel": [self.vel[id(p)] for p in params],
            "lr": self.lr, "step": self.step, "epoch": self.epoch,
            "history": self.history, "best": self.best,
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None,
            "gan_config": asdict(self.gcfg), "train_config": asdict(self.tcfg),
        }

    def load(self, path: str | Path) -> None:
        st = torch.load(path, map_location=self.device, weights_only=False)
        if not (same_settings(st["gan_config"], self.gcfg) and same_settings(st["train_config"], self.tcfg)):
            raise ValueError(f"checkpoint {path} was made with other settings; delete it or "
                             "use another checkpoint folder")
        self.G.load_state_dict(st["G"])
        self.D.load_state_dict(st["D"])
        for p, v in zip(self.parameters(), st["vel"]):
            self.vel[id(p)] = v.to(self.device)
        self.lr, self.step, self.epoch = st["lr"], st["step"], st["epoch"]
        self.history, self.best = st["history"], st["best"]
        torch.set_rng_state(st["rng_cpu"])
        if st["rng_cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(st["rng_cuda"])

    # -- one update of Algorithm 1 ---------------------------------------------------------
    def _apply(self, net: torch.nn.Module, params: list[torch.nn.Parameter],
               grads: tuple[torch.Tensor, ...], m: float) -> None:
        vels = [self.vel[id(p)] for p in params]
        with torch.no_grad():  # v ← m·v − lr·g; θ ← θ + v, fused over all tensors
            torch._foreach_mul_(vels, m)
            torch._foreach_add_(vels, list(grads), alpha=-self.lr)
            torch._foreach_add_(params, vels)
        if self.gcfg.max_col_norm is not None:
            constrain_col_norms(net, self.gcfg.max_col_norm)

    def train_step(self, x: torch.Tensor, momentum: float) -> tuple[float, float, float, float]:
        """One simultaneous update of D and G on one minibatch, as ``AdversaryCost2`` with
        pylearn2's stock SGD: a single draw of G(z) is scored by D (one dropout mask); D's
        gradient comes from ½[BCE(1, D(x)) + BCE(0, D(G(z)))], G's from −log D(G(z)) on the
        same scores, and both parameter sets move at once.
        Returns (D loss, G loss, mean D(x), mean D(G(z)))."""
        n = x.shape[0]
        d_params, g_params = list(self.D.parameters()), list(self.G.parameters())
        fake = self.G(self.G.noise(n, device=self.device))
        # one D pass over [real; generated] (per-row dropout masks, as two passes would draw):
        # half the GEMM calls at twice the rows, and no summing of two weight gradients
        logits = self.D(torch.cat([x, fake]))
        real_logit, fake_logit = logits[:n], logits[n:]
        d_loss = 0.5 * (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                        + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
        g_loss = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, g_params)
        self._apply(self.D, d_params, d_grads, momentum)
        self._apply(self.G, g_params, g_grads, momentum)
        self.lr = max(self.lr / self.tcfg.lr_decay, self.tcfg.lr_min)
        self.step += 1
        stats = torch.stack([d_loss.detach(), g_loss.detach(), torch.sigmoid(real_logit).mean().detach(),
                             torch.sigmoid(fake_logit).mean().detach()]).tolist()
        if not all(math.isfinite(s) for s in stats[:2]):
            kept = self.last_path if self.last_path.is_file() else "none yet"
            raise TrainingDiverged(f"non-finite loss at step {self.step} (epoch {self.epoch + 1}): "
                                   f"D loss {stats[0]}, G loss {stats[1]}; last good checkpoint: {kept}")
        return tuple(stats)  # type: ignore[return-value]

    # -- evaluation --------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, seed: int, batch: int = 5000) -> torch.Tensor:
        """n samples from G with their own RNG stream (does not disturb training's)."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        self.G.eval()
        out = [self.G(self.G.noise(min(batch, n - i), gen).to(self.device))
               for i in range(0, n, batch)]
        self.G.train()
        return torch.cat(out)

    def monitor(self) -> dict:
        """Validation Parzen log-likelihood of G's samples, σ chosen on the same set."""
        from genrepro import parzen

        samples = self.sample(self.tcfg.monitor_samples, seed=10_000 + self.epoch)
        valid = self.x_valid[: self.tcfg.monitor_valid]
        sigma, lls = parzen.select_sigma(valid, samples)
        return {"valid_parzen": float(np.max(lls)), "valid_sigma": float(sigma)}

    # -- the loop ----------------------------------------------------------------------------
    def train(self, resume: bool = True, on_step: Callable[[int], None] | None = None,
              progress: bool = True) -> list[dict]:
        """Train to ``epochs`` epochs, resuming from ``last.pt`` when present; returns history."""
        if resume and self.last_path.is_file():
            self.load(self.last_path)
            self.resumed_from = self.epoch
        cfg, n = self.tcfg, self.x_train.shape[0]
        steps = cfg.steps_per_epoch or n // cfg.batch_size
        bar = prog.bar(progress, total=cfg.epochs * steps, initial=self.epoch * steps,
                       desc="GAN training", unit="step")
        while self.epoch < cfg.epochs:
            t0 = time.perf_counter()
            m = momentum_at(cfg, self.epoch)
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + self.epoch))
            sums = np.zeros(4)
            self.G.train(), self.D.train()
            for b in range(steps):
                idx = perm[(b * cfg.batch_size) % n: (b * cfg.batch_size) % n + cfg.batch_size]
                sums += self.train_step(self.x_train[idx.to(self.device)], m)
                bar.update(1)
                if on_step is not None:
                    on_step(self.step)
            self.epoch += 1
            rec = dict(zip(("d_loss", "g_loss", "d_real", "d_fake"), (sums / steps).tolist()))
            rec.update(epoch=self.epoch, step=self.step, lr=self.lr, momentum=m,
                       seconds=time.perf_counter() - t0)
            if self.epoch % cfg.monitor_every == 0 or self.epoch == cfg.epochs:
                rec.update(self.monitor())
                if self.best is None or rec["valid_parzen"] > self.best["valid_parzen"]:
                    self.best = {"epoch": self.epoch, **{k: rec[k] for k in ("valid_parzen", "valid_sigma")}}
                    _save_atomic({"G": self.G.state_dict(), "D": self.D.state_dict(), **self.best},
                                 self.best_path)
            self.history.append(rec)
            _save_atomic(self.state(), self.last_path)
            if "valid_parzen" in rec:
                prog.log(f"epoch {self.epoch}/{cfg.epochs} (step {self.step}): D(x) {rec['d_real']:.3f}, "
                         f"D(G(z)) {rec['d_fake']:.3f}, validation Parzen {rec['valid_parzen']:.1f} nats, "
                         f"{rec['seconds']:.1f} s/epoch", progress)
        bar.close()
        return self.history

    def load_best(self) -> dict:
        """Load the best checkpoint's weights into G and D; returns its record."""
        st = torch.load(self.best_path, map_location=self.device, weights_only=False)
        self.G.load_state_dict(st["G"])
        self.D.load_state_dict(st["D"])
        return {k: st[k] for k in ("epoch", "valid_parzen", "valid_sigma")}
