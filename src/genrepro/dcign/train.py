"""DC-IGN training (Kulkarni et al. 2015 §3.2, §4.1, §4.2) in the book's training style.

One update per batch: encode, clamp the inactive latent means to their batch mean
(:func:`~genrepro.dcign.clamp_latents`, §3.1 step 5; skipped in the plain-VAE baseline of
§4.1.1), sample, decode, and descend the summed negative SGVB bound (BCE + KL). The
optimiser is the original's ``rmsprop.lua``, which is Adam in all but name (first moment
with decay 0.1, second with 0.01, bias corrections, learning rate 5e-4 from
``monovariant_main.lua``): ``torch.optim.Adam(lr=5e-4, betas=(0.9, 0.99), eps=1e-8)``
(the original adds its 1e-8 inside the square root; a negligible difference).

Mirror tie (``TrainConfig.mirror``; **not in the paper**, off by default and in the paper's
settings). The paper's objective fixes what z2 (elevation) and z3 (light) mean only *within*
a batch, where one azimuth is shown: the decoder reads the absolute elevation of a batch from
the identity latents, so z2 may take opposite signs for faces turned left and right (the
chapter measures this). A horizontal mirror maps a render at (azimuth a, elevation e, light l)
to one at (−a, e, −l), so with ``mirror`` = w > 0 the loss gains
``w · Σ_images Σ_{j=1..3} (mu_j(x) − s_j · mu_j(flip x))²`` with signs ``s`` = (−1, +1, −1)
(:data:`MIRROR_SIGNS`, :func:`mirror_tie`): one sign for z2 on both sides. It costs one more
encoder pass over the flipped batch.

Moment tie (``TrainConfig.moments``; **not in the paper**, off by default and in the paper's
settings). The chapter measures that a clamped latent can follow its factor inside every batch and
still be poor over all faces, because its level and its gain (slope against the factor) change from
face to face. Every batch in which one extrinsic factor varies draws that factor uniformly over its
whole range (``genrepro.data.faces``), so a latent that encodes the factor the same way for every face
has nearly the same batch mean and spread in every such batch. With ``moments`` = w > 0 the loss
gains ``w · B · (m² + (s − 1)²)`` (:func:`moment_tie`) for the batch's one active latent of a face
batch of kind azimuth, elevation or light, with m and s the mean and standard deviation of its
encoder means over the batch's B images: a level and a gain shared by all faces. It uses the batch
design only, as the clamp does, no factor values.

Swap tie (``TrainConfig.swap``; **not in the paper**, off by default and in the paper's settings).
The clamp decodes every image of a batch from the batch *mean* of its clamped latents, and in the
backward pass those latents get the invariance pull only, never the reconstruction's gradient. So
nothing asks one image's own clamped latents to be enough: the identity latents of a face seen at
one pose may carry that pose (the chapter reads the azimuth back from z4…z200 of unseen faces with
R² ≈ 0.9), and a face's z1–z3 may sit at a level of its own. Figure 5 decodes exactly what training
never shows: one image's code with one latent moved. With ``swap`` = w > 0, every clamped batch is
decoded a second time, each image ``x_j`` from its own active latents and the clamped latents of
its neighbour ``x_{j−1}`` in the batch (:func:`swapped_code`, on the encoder means, no sampling), and
the loss gains ``w · BCE(decode(swap), x)``. The clamped latents describe what the batch shares (the
face in an azimuth batch, the pose in an identity batch), so any one image's copy must do; the
reconstruction's gradient now reaches them. It costs one more decoder pass and uses the batch design
only, no factor values.

Compiling (``TrainConfig.compile``; off by default, and not a setting of the paper's): the encoder
and decoder are wrapped in place by ``torch.compile`` (inductor, which needs a C++ compiler on the CPU).
It is the same computation with fused kernels, so its numbers differ from the eager step's in the last
bits. On this 2-core CPU it does not make a reduced step faster (``benchmarks/bench_dcign_reduced.py``);
it is there for the GPU, where its gain is still to be measured.

Learning-rate decay (``TrainConfig.lr_final``; **not in the paper**, whose ``rmsprop.lua`` keeps its
learning rate fixed; off by default and in the paper's settings). With ``lr_final`` set, the update
after ``t`` completed steps uses the cosine schedule
``lr_final + (lr − lr_final) · (1 + cos(π t / steps)) / 2`` (:meth:`TrainConfig.lr_at`): ``lr`` at the
first step, ``lr_final`` at the end of the schedule. It is a function of the step alone, so a resumed
run is still bit-identical; a job whose schedule is lengthened later goes on along the longer curve.

Checkpoints (``last.pt``, written atomically every ``checkpoint_every`` steps and at the
end) hold the weights, the Adam state, the noise generator's state, the step and the
history, plus every setting; a run resumed from one is bit-identical on the CPU to an
uninterrupted run, and a checkpoint made with other settings is refused. A non-finite loss
stops training with :class:`TrainingDiverged` naming the step; the last good checkpoint is
left in place (a checkpoint is never written from non-finite weights).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F

from genrepro import progress as prog
from genrepro.data.prep import atomic_file
from genrepro.dcign.batches import EXTRINSIC, Batch
from genrepro.dcign.clamp import active_mask
from genrepro.dcign.model import DCIGN, DCIGNConfig, sgvb_loss
from genrepro.gan.train import TrainingDiverged

__all__ = ["MIRROR_SIGNS", "BatchSource", "TrainConfig", "Trainer", "TrainingDiverged", "mirror_tie",
           "moment_tie", "swapped_code", "train_dcign"]

# z1 azimuth and z3 light azimuth change sign under a horizontal flip; z2 elevation does not
MIRROR_SIGNS: tuple[float, ...] = (-1.0, 1.0, -1.0)
# TrainConfig fields added after networks were published, with the value that takes the old code
# path: at that value they stay out of a checkpoint's settings, so older checkpoints still resume.
_LATE_FIELDS: dict[str, float | bool | None] = {"moments": 0.0, "swap": 0.0, "compile": False, "lr_final": None}


class BatchSource(Protocol):
    """Anything with ``batch(step) -> Batch`` and ``settings() -> dict`` (see ``batches``)."""

    def batch(self, step: int) -> Batch: ...

    def settings(self) -> dict: ...


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (original ``monovariant_main.lua`` / ``rmsprop.lua``; §3.2)."""

    steps: int = 20_000
    lr: float = 5e-4
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-8
    invariance: float = 0.01      # §3.2: strength of the clamped latents' pull to the batch mean
    clamp: bool = True            # False: the plain VAE baseline (§4.1.1), same network and data
    checkpoint_every: int = 500
    log_every: int = 100
    seed: int = 0                 # weight init and the reparametrisation noise
    amp: bool = False             # bf16 autocast (CUDA only)
    channels_last: bool = False   # channels-last memory format (CUDA only)
    mirror: float = 0.0           # weight of the mirror tie on z1–z3 (ours, not the paper's; 0 = off)
    moments: float = 0.0          # weight of the moment tie on the active z1–z3 (ours; 0 = off)
    swap: float = 0.0             # weight of the swap tie: clamped latents from a neighbour (ours; 0 = off)
    compile: bool = False         # torch.compile the encoder and decoder (inductor; CPU and CUDA)
    lr_final: float | None = None  # cosine decay of lr to this value over `steps` (ours; None = constant)

    def __post_init__(self) -> None:
        for name, tie in (("mirror", "mirror tie"), ("moments", "moment tie"), ("swap", "swap tie")):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite weight >= 0 (0 turns the {tie} off), got {v!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be True or False, got {self.compile!r}")
        f = self.lr_final
        if f is not None and (isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f <= self.lr):
            raise ValueError(f"lr_final must be None (a constant learning rate) or a number from 0 to lr "
                             f"({self.lr:g}), got {f!r}")

    def lr_at(self, step: int) -> float:
        """The learning rate of the update made after ``step`` completed steps: ``lr`` throughout, or
        with ``lr_final`` the cosine decay from ``lr`` (step 0) to ``lr_final`` (step ``steps``)."""
        if self.lr_final is None:
            return self.lr
        t = min(max(step, 0), self.steps) / max(self.steps, 1)
        return self.lr_final + (self.lr - self.lr_final) * (1.0 + math.cos(math.pi * t)) / 2.0

    @classmethod
    def from_profile(cls, profile: str, run: str = "dcign", **overrides) -> TrainConfig:
        """Settings of ``run`` ("dcign", "baseline" = plain VAE, "chairs") in ``profile``
        (``genrepro.profiles.TABLE['dcign']``); ``overrides`` replace single fields."""
        from genrepro import profiles

        if run not in ("dcign", "baseline", "chairs"):
            raise ValueError(f"run must be 'dcign', 'baseline' or 'chairs', not {run!r}")
        s = profiles.get("dcign", profile)
        steps = {"dcign": s.steps, "baseline": s.baseline_steps, "chairs": s.chairs_steps}[run]
        kw = {"steps": steps, "lr": s.lr, "betas": tuple(s.betas), "invariance": s.invariance,
              "clamp": run != "baseline", "checkpoint_every": s.checkpoint_every,
              "log_every": s.log_every, "seed": s.seed}
        return cls(**{**kw, **overrides})


def _save_atomic(obj: dict, path: Path) -> None:
    """torch.save through prep.atomic_file: a crash never leaves a half-written checkpoint."""
    with atomic_file(path) as f:
        torch.save(obj, f)


def mirror_tie(mu: torch.Tensor, mu_flipped: torch.Tensor,
               signs: tuple[float, ...] = MIRROR_SIGNS) -> torch.Tensor:
    """``Σ_i Σ_j (mu[i, j] − signs[j] · mu_flipped[i, j])²`` over the first ``len(signs)``
    latents: how far the encodings of a batch and of its horizontal mirror are from the
    mirror symmetry of azimuth, elevation and light (see the module docstring).

    Raises ``ValueError`` when the two are not the same ``(batch, latents)`` shape or hold
    fewer latents than ``signs``."""
    if mu.shape != mu_flipped.shape or mu.dim() != 2 or mu.shape[1] < len(signs):
        raise ValueError(f"mirror_tie needs two (batch, >= {len(signs)}) encodings of one shape, "
                         f"got {tuple(mu.shape)} and {tuple(mu_flipped.shape)}")
    s = torch.as_tensor(signs, dtype=mu.dtype, device=mu.device)
    k = len(signs)
    return (mu[:, :k] - s * mu_flipped[:, :k]).pow(2).sum()


def moment_tie(z: torch.Tensor) -> torch.Tensor:
    """``B · (mean(z)² + (std(z) − 1)²)`` of one latent's encoder means ``z`` ``(B,)`` over a batch
    (population std): how far the batch is from level 0 and spread 1 (see the module docstring).

    Raises ``ValueError`` for anything but a 1-D ``z`` of at least 2 values."""
    if z.dim() != 1 or z.shape[0] < 2:
        raise ValueError(f"moment_tie needs one latent over a batch of >= 2 images, got shape {tuple(z.shape)}")
    return z.shape[0] * (z.mean().square() + (z.var(unbiased=False) + 1e-12).sqrt().sub(1).square())


def swapped_code(mu: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Each image's active latents with every other latent taken from its neighbour in the batch:
    ``out[j] = where(active, mu[j], mu[j − 1])`` (row 0 takes row ``B − 1``'s), the swap tie's code
    (see the module docstring). ``active``: a boolean ``(latents,)`` mask.

    Raises ``ValueError`` for a ``mu`` that is not ``(batch >= 2, latents)`` or a mask of another length."""
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"swapped_code needs (batch >= 2, latents) encodings, got shape {tuple(mu.shape)}")
    if active.shape != (mu.shape[1],) or active.dtype != torch.bool:
        raise ValueError(f"active must be a boolean mask of {mu.shape[1]} latents, got {active.dtype} {tuple(active.shape)}")
    return torch.where(active, mu, mu.roll(1, 0))


def _jsonable(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _train_settings(tcfg: TrainConfig) -> dict:
    d = _jsonable(asdict(tcfg))
    return {k: v for k, v in d.items() if not (k in _LATE_FIELDS and v == _LATE_FIELDS[k])}


class Trainer:
    """Trains one :class:`DCIGN` on ``source``'s batches, checkpointing into ``ckpt_dir``.

    ``monitor``: optional ``model -> dict`` (e.g. the |r| of z1–z3 on held-out batches), called
    with the network in eval mode at step 0 and every ``monitor_every`` steps; it must not
    touch the training state (it runs under ``no_grad``), so a resumed run stays bit-identical."""

    def __init__(self, cfg: DCIGNConfig, tcfg: TrainConfig, source: BatchSource,
                 ckpt_dir: str | Path, device: torch.device | str = "cpu",
                 monitor: Callable[[DCIGN], dict] | None = None, monitor_every: int = 1000):
        if monitor is not None and monitor_every < 1:
            raise ValueError(f"monitor_every must be >= 1, got {monitor_every}")
        self.cfg, self.tcfg, self.source = cfg, tcfg, source
        self.monitor, self.monitor_every = monitor, int(monitor_every)
        self.evals: list[dict] = []
        self.device = torch.device(device)
        self.ckpt_dir = Path(ckpt_dir)
        torch.manual_seed(tcfg.seed)
        self.model = DCIGN(cfg).to(self.device)
        self.fast = self.device.type == "cuda"
        if tcfg.channels_last and self.fast:
            self.model = self.model.to(memory_format=torch.channels_last)
        if tcfg.compile:   # in place: the state dict keeps its keys, so checkpoints and publications are unchanged
            self.model.encoder.compile()
            self.model.decoder.compile()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=tcfg.lr, betas=tcfg.betas, eps=tcfg.eps)
        self.gen = torch.Generator(device=self.device).manual_seed(10_007 * tcfg.seed + 1)
        self.step = 0
        self.history: list[dict] = []
        self._acc: dict[str, float] = {}
        self.resumed_from: int | None = None

    # -- checkpoints -------------------------------------------------------------------------
    @property
    def last_path(self) -> Path:
        return self.ckpt_dir / "last.pt"

    def settings(self) -> dict:
        return {"model": _jsonable(asdict(self.cfg)), "train": _train_settings(self.tcfg),
                "source": _jsonable(self.source.settings())}

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step,
                "history": self.history, "acc": dict(self._acc), "gen": self.gen.get_state(),
                "evals": self.evals,
                "settings": self.settings()}

    def save(self) -> None:
        """Write ``last.pt`` atomically, refusing non-finite weights (the last good one stays)."""
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            kept = self.last_path if self.last_path.is_file() else "none yet"
            raise TrainingDiverged(f"non-finite weights after step {self.step}; "
                                   f"last good checkpoint: {kept}")
        _save_atomic(self.state(), self.last_path)

    def load(self, path: str | Path) -> None:
        st = torch.load(path, map_location=self.device, weights_only=False)
        if st["settings"] != self.settings():
            raise ValueError(f"checkpoint {path} was made with other settings; delete it or "
                             "use another checkpoint folder")
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.gen.set_state(st["gen"].cpu() if self.device.type != "cpu" else st["gen"])
        self.step, self.history, self._acc = st["step"], st["history"], dict(st["acc"])
        self.evals = list(st.get("evals", []))

    # -- one update ----------------------------------------------------------------------------
    def _autocast(self):
        if self.tcfg.amp and self.fast:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One Adam step on ``batch`` (clamped unless ``clamp`` is off); returns per-image
        loss, BCE and KL. Raises :class:`TrainingDiverged` (no update made) on a non-finite loss."""
        x = batch.images.to(self.device, torch.float32)
        if self.tcfg.channels_last and self.fast:
            x = x.contiguous(memory_format=torch.channels_last)
        active = batch.active if self.tcfg.clamp else None
        self.model.train()
        tie = swap_logits = None
        swap = self.tcfg.swap > 0 and active is not None
        with self._autocast():
            if self.tcfg.mirror > 0 or swap:   # the mirror: one encoder pass over the batch and its mirror
                b = x.shape[0]
                mu_all, lv_all = self.model.encode(torch.cat([x, x.flip(-1)]) if self.tcfg.mirror > 0 else x)
                if self.tcfg.mirror > 0:
                    tie = mirror_tie(mu_all[:b], mu_all[b:])
                logits, mu, logvar = self.model.from_encoding(mu_all[:b], lv_all[:b], active, self.tcfg.invariance,
                                                              generator=self.gen)
                if swap:
                    swap_logits = self.model.decode_logits(
                        swapped_code(mu_all[:b], active_mask(active, mu.shape[1], mu.device)))
            else:
                logits, mu, logvar = self.model(x, active, self.tcfg.invariance, generator=self.gen)
        loss, bce, kl = sgvb_loss(logits, x, mu, logvar)
        parts = {"loss": loss.detach(), "bce": bce.detach(), "kl": kl.detach()}
        if tie is not None:
            loss = loss + self.tcfg.mirror * tie
            parts["mirror"] = tie.detach()
        if swap_logits is not None:
            st = F.binary_cross_entropy_with_logits(swap_logits.float(), x, reduction="sum")
            loss = loss + self.tcfg.swap * st
            parts["swap"] = st.detach()
        if self.tcfg.moments > 0 and active is not None and batch.kind in EXTRINSIC:
            mt = moment_tie(mu[:, EXTRINSIC[batch.kind]].float())
            loss = loss + self.tcfg.moments * mt
            parts["moments"] = mt.detach()
        vals = (torch.stack(list(parts.values())) / x.shape[0]).tolist()
        if not all(math.isfinite(v) for v in vals):
            kept = self.last_path if self.last_path.is_file() else "none yet"
            raise TrainingDiverged(f"non-finite loss at step {self.step + 1} ({batch.kind} batch): "
                                   f"loss {vals[0]}, BCE {vals[1]}, KL {vals[2]}; "
                                   f"last good checkpoint: {kept}")
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.tcfg.lr_final is not None:
            for group in self.opt.param_groups:
                group["lr"] = self.tcfg.lr_at(self.step)
        self.opt.step()
        self.step += 1
        return dict(zip(parts, vals))

    # -- the loop --------------------------------------------------------------------------------
    def _accumulate(self, kind: str, stats: dict[str, float]) -> None:
        a = self._acc
        for k, v in stats.items():
            a[k] = a.get(k, 0.0) + v
        a["n"] = a.get("n", 0.0) + 1
        a[f"n_{kind}"] = a.get(f"n_{kind}", 0.0) + 1

    def _flush(self, seconds: float) -> dict:
        a, n = self._acc, self._acc.get("n", 1.0)
        keys = ("loss", "bce", "kl") + tuple(k for k in ("mirror", "moments", "swap") if k in a)
        rec = {"step": self.step, **{k: a.get(k, 0.0) / n for k in keys},
               "kinds": {k[2:]: int(v) for k, v in a.items() if k.startswith("n_")},
               "seconds": seconds}
        self.history.append(rec)
        self._acc = {}
        return rec

    def _monitor(self) -> None:
        """Append ``{"step", **monitor(model)}`` to :attr:`evals` (the |r|-against-steps curve)."""
        was = self.model.training
        self.model.eval()
        with torch.no_grad():
            rec = {"step": self.step, **self.monitor(self.model)}
        self.model.train(was)
        self.evals.append(rec)

    def train(self, resume: bool = True, on_step: Callable[[int], None] | None = None,
              progress: bool = True) -> list[dict]:
        """Train to ``steps`` updates, resuming from ``last.pt`` when present; returns history
        (one record per ``log_every`` steps: mean per-image loss, BCE, KL, batch kinds seen).

        With a ``monitor`` (see :class:`Trainer`), it is also called at step 0 and every
        ``monitor_every`` steps, its results kept in :attr:`evals` (saved in the checkpoint)."""
        if resume and self.last_path.is_file():
            self.load(self.last_path)
            self.resumed_from = self.step
        cfg = self.tcfg
        mode = "DC-IGN" if cfg.clamp else "VAE baseline"
        bar = prog.bar(progress, total=cfg.steps, initial=self.step, desc=f"{mode} training", unit="step")
        t0 = time.perf_counter()
        if self.monitor is not None and not self.evals:
            self._monitor()
        while self.step < cfg.steps:
            batch = self.source.batch(self.step)
            self._accumulate(batch.kind, self.train_step(batch))
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                rec = self._flush(time.perf_counter() - t0)
                t0 = time.perf_counter()
                bar.set_postfix(loss=f"{rec['loss']:.1f}")
                prog.log(f"{mode} step {self.step}/{cfg.steps}: loss {rec['loss']:.1f} per image "
                         f"(BCE {rec['bce']:.1f}, KL {rec['kl']:.1f})", progress)
            if self.monitor is not None and (self.step % self.monitor_every == 0 or self.step == cfg.steps):
                self._monitor()
            if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                self.save()
            if on_step is not None:
                on_step(self.step)
        bar.close()
        return self.history


def train_dcign(cfg: DCIGNConfig, tcfg: TrainConfig, source: BatchSource, ckpt_dir: str | Path,
                device: torch.device | str = "cpu", resume: bool = True,
                progress: bool = True) -> Trainer:
    """Build a :class:`Trainer`, train it (resuming when a checkpoint exists) and return it."""
    trainer = Trainer(cfg, tcfg, source, ckpt_dir, device)
    trainer.train(resume=resume, progress=progress)
    return trainer
