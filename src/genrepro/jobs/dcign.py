"""DC-IGN jobs (Kulkarni et al. 2015 §3.2, §4.1, §4.2): the chapter's three networks, twice.

The CPU-trainable reduction (:meth:`~genrepro.dcign.DCIGNConfig.reduced`: 64×64, widths
24/12/12, the paper's structure, clamp, ratio, invariance and optimiser), trained on this
2-core machine in resumable budgeted chunks. The jobs and their overrides of the profile are listed
in :mod:`genrepro.jobs.dcign_table`.

The paper's own 150×150 network (``init_network2_150_mv``, :meth:`DCIGNConfig.full`), GPU jobs:
``dcign-faces-150`` (24,000 steps), ``dcign-baseline-150``, ``dcign-chairs-150`` (10,000).

Every faces job records, every ``MONITOR_EVERY`` steps, the |Pearson r| of z1, z2, z3 (the
baseline: of its most varying latent per factor) with the true azimuth, elevation and light on
``MONITOR_BATCHES`` held-out batches per factor (unseen identities, batch indices disjoint from
the chapter's test batches): the chapter's "when do the factors separate" curve.

Each wraps the chapter's resumable :class:`~genrepro.dcign.Trainer`. Batches are those the
chapter trains on: faces rendered on the fly by :class:`~genrepro.dcign.FaceSource` (only the
prepared face model is read), chairs from ``data/chairs/full``.

Budget cuts lose no work: the trainer checkpoints every ``checkpoint_every`` steps, so
when the budget runs out mid-interval :meth:`DCIGNJob.run` writes ``last.pt`` at once. That
checkpoint holds the step, the history, the running log accumulators, the Adam state and the
noise generator's state, and batches are a pure function of ``(seed, step)``, so a resume from
it is bit-identical on the CPU to an uninterrupted run (``tests/test_jobs_dcign.py``).

CUDA speed settings. The 150×150 jobs' ``TrainConfig`` always sets ``amp=True`` (bf16 autocast) and
``channels_last=True``. The trainer applies both on CUDA only and ignores them on the CPU, so
a CPU run of the same job computes in plain fp32; on CUDA :meth:`DCIGNJob.run` also turns on
``cudnn.benchmark`` and TF32 matmuls/convolutions for the call (restored afterwards). We chose
to keep one settings tag for both devices rather than give CUDA runs their own: the job is
GPU-only, the CPU runs are checks, and with one tag a checkpoint moves between machines (the
GPU command carries them). What that costs, said plainly: a run that mixes devices is not
bit-identical to a run on one of them (nor is any CUDA run, with ``cudnn.benchmark`` choosing
kernels by timing), and we have not measured how far bf16 autocast moves the result from an
fp32 run; every device that trained a checkpoint is recorded (``devices.json``, the published
record's ``trained_on``). On a switch of device the noise generator, whose state differs in
kind between CPU and CUDA, is re-seeded from ``(seed, step)`` (noted in ``reseeded.json`` beside
it and in the published record).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import torch

from genrepro.data.prep import atomic_file
from genrepro.dcign.model import DCIGN, DCIGNConfig
from genrepro.dcign.train import BatchSource, TrainConfig, Trainer
from genrepro.jobs.base import MAX_FILE_BYTES, RESUME, Budget, Job, OutOfBudget, Status, cuda_speed
from genrepro.jobs.dcign_measures import factor_correlations
from genrepro.jobs.dcign_table import (JOB_DATA, JOB_EXTENDS, JOB_MODEL, JOB_TRAIN, REDUCED_CHECKPOINT_EVERY,
                                       REDUCED_STEPS, RUNS, STOPPED, faces_jobs, light_frame)

WEIGHTS = "model.safetensors"
# A publication's optimiser (Adam's moments and step counts) and noise-generator state: with its
# float32 weights and the record's history, the checkpoint a fresh clone resumes from. A partial
# publication carries it so that a fresh clone goes on with the job; a complete one (since
# 2026-12-06) so that a job extending it (:mod:`genrepro.jobs.dcign_extend`) can start on a machine
# that never held the parent's checkpoint: only a job that :data:`JOB_EXTENDS` names as a parent
# keeps it once complete (since 2026-12-07; `--drop-resume` removes it from an older publication,
# :func:`genrepro.published.drop_resume`). Kept wherever the weights are float32 and the file fits.
# Its file name is jobs.base.RESUME, shared with the Deep GMM jobs and genrepro.published.
CUDA_SPEED = {"amp": True, "channels_last": True}   # inert on the CPU (see the module docstring)
MONITOR_EVERY = 1_000       # steps between |r| measurements (faces jobs)
MONITOR_BATCHES = 10        # held-out batches per factor for each measurement
MONITOR_FIRST_INDEX = 1_000  # their batch indices start here: disjoint from the test files' 0…
SourceFactory = Callable[["DCIGNJob", torch.device], BatchSource]


class DCIGNJob(Job):
    """One DC-IGN network of the chapter, trained with the full profile's settings.

    ``cfg``, ``train`` (``TrainConfig`` field overrides) and ``source`` (a factory of the batch
    source) exist for tests and dry runs; the defaults are the full profile's."""

    chapter = "dcign"
    gpu_only = True

    def __init__(self, name: str = "dcign-faces", *, cfg: DCIGNConfig | None = None,
                 train: dict[str, Any] | None = None, source: SourceFactory | None = None,
                 parent: "DCIGNJob | None" = None):
        if name not in RUNS:
            raise ValueError(f"no DC-IGN job {name!r}; known: {', '.join(RUNS)}")
        self.name = name
        self.run_kind, self.data, self.scale, self.description = RUNS[name]
        self.gpu_only = self.scale == "full"
        self.priority = 40 + list(RUNS).index(name)
        self.datasets = (self.data,)
        self._cfg, self._train, self._source = cfg, dict(train or {}), source
        # the job an extension goes on from (JOB_EXTENDS); ``parent`` exists for tests
        self.parent = parent if parent is not None else \
            (DCIGNJob(JOB_EXTENDS[name]) if name in JOB_EXTENDS else None)

    # -- settings --------------------------------------------------------------------------------
    def model_config(self) -> DCIGNConfig:
        if self._cfg is not None:
            return self._cfg
        if self.name in JOB_MODEL:
            return JOB_MODEL[self.name]
        return DCIGNConfig.reduced() if self.scale == "reduced" else DCIGNConfig.from_profile("full")

    def train_config(self) -> TrainConfig:
        if self.scale == "reduced":
            base = {"steps": REDUCED_STEPS[self.run_kind], "checkpoint_every": REDUCED_CHECKPOINT_EVERY}
        else:
            base = dict(CUDA_SPEED)
        return TrainConfig.from_profile("full", run=self.run_kind,
                                        **{**base, **JOB_TRAIN.get(self.name, {}), **self._train})

    def data_spec(self) -> dict[str, Any]:
        """What the batches are (the trainer checks the source's full settings on resume)."""
        spec = {"data": self.data, "profile": "full", "custom_source": self._source is not None}
        if self.data == "faces":
            spec["monitor"] = {"every": MONITOR_EVERY, "batches": MONITOR_BATCHES, "first": MONITOR_FIRST_INDEX}
        return {**spec, **JOB_DATA.get(self.name, {})}   # nothing added for the other jobs: their tags stand

    def scale_label(self, st: Status) -> str:
        """"reduced 64×64 (widths 24/12/12), our CPU schedule …" or the paper-settings label."""
        if self.scale == "full" and self._cfg is None:
            return st.label()
        c = self.model_config()
        return st.reduction_label(f"reduced {c.image_size}×{c.image_size} (widths "
                                  f"{'/'.join(map(str, c.enc_channels))}; paper: 150×150, 96/48/24)")

    def settings(self) -> tuple[Any, ...]:
        return (self.model_config(), self.train_config(), self.data_spec())

    def code_modules(self) -> tuple[str, ...]:
        data = ("genrepro.data.faces", "genrepro.data.face_model") if self.data == "faces" \
            else ("genrepro.data.chairs",)
        return ("genrepro.dcign", "genrepro.render", *data)

    def data_files(self) -> list[str]:
        """The prepared files (relative to ``data/``) the batches are made from."""
        if self.data == "faces":
            return ["faces/manifest.json", "faces/face_model.npz"]
        return ["chairs/full/chairs.npz", "chairs/full/manifest.json"]

    def checkpoint_bytes_estimate(self) -> int:
        """Size of ``last.pt``: weights and Adam's two moments in fp32, plus a margin."""
        with torch.device("meta"):
            n = sum(p.numel() for p in DCIGN(self.model_config()).parameters())
        return 12 * n + 2**20

    # -- batches ---------------------------------------------------------------------------------
    def source(self, device: torch.device) -> BatchSource:
        """The chapter's batch source for this run (``book/dcign.ipynb``), on ``device``."""
        if self._source is not None:
            return self._source(self, device)
        from genrepro import dcign
        from genrepro.data import chairs, faces

        cfg, tcfg = self.model_config(), self.train_config()
        if self.data == "faces":
            return dcign.FaceSource(faces.load_face_model(), cfg.image_size, tcfg.steps, seed=tcfg.seed,
                                    device=device, **JOB_DATA.get(self.name, {}))
        return dcign.ChairSource(chairs.load_chairs("train", "full"), cfg.image_size, tcfg.steps,
                                 seed=tcfg.seed, device=device)

    def monitor(self, device: torch.device) -> Callable[[DCIGN], dict] | None:
        """The |r| monitor of a faces job (see the module docstring); None for chairs and for
        jobs built with a custom source."""
        if self.data != "faces" or self._source is not None:
            return None
        from genrepro.data import faces

        cfg, seed = self.model_config(), self.train_config().seed
        # the held-out batches depend on the light's frame only (a job's batch ratio is its training's)
        batches = monitor_batches(faces.load_face_model(), cfg.image_size, seed, device, light_frame=light_frame(self.name))
        return partial(factor_correlations, batches=batches, clamped=self.run_kind != "baseline")

    # -- checkpoints -----------------------------------------------------------------------------
    @property
    def last_path(self) -> Path:
        return self.ckpt_dir() / "last.pt"

    def checkpoint(self) -> dict | None:
        p = self.last_path
        return torch.load(p, map_location="cpu", weights_only=False, mmap=True) if p.is_file() else None

    def finished(self) -> bool:
        """Nothing left to train (:meth:`Job.finished`), or a job stopped for good (:data:`STOPPED`) whose
        partial run is published: ``--pending`` leaves it alone (naming it trains it again)."""
        from genrepro import published

        return super().finished() or (self.name in STOPPED and self.name in published.names())

    def status(self) -> Status:
        st = self.checkpoint()
        if st is None:   # none here: a resumable publication is where the next call starts
            rec = self._resumable_record()
            return Status(rec["resume"]["step"] if rec else 0, self.train_config().steps, "steps")
        return Status(st["step"], self.train_config().steps, "steps")

    def _resumable_record(self, complete: bool = False) -> dict | None:
        """This job's partial publication, made with this code and settings (or declared
        equivalent) and carrying :data:`RESUME` with float32 weights: where a machine without a
        checkpoint starts. With ``complete``, a complete one too: where a job that extends this
        one starts (a complete job itself is refitted from scratch on request, ``--force``)."""
        from genrepro import published

        if self.name not in published.names():
            return None
        rec = published.record(self.name)
        ok = RESUME in rec["files"] and "resume" in rec and rec.get("weights_dtype") == "float32" \
            and self.accepts_tag(rec["provenance"].get("settings_tag")) \
            and (complete or rec["resume"]["step"] < self.train_config().steps)
        return rec if ok else None

    def adopt_published(self, complete: bool = False) -> bool:
        """With no checkpoint here, write the one a resumable publication carries as ``last.pt``
        (files checked against their SHA-256), so training goes on where the publication stopped,
        on this machine as on the one that trained it; with ``complete``, a complete publication's
        too (for :func:`~genrepro.jobs.dcign_extend.adopt_parent`). False when there is nothing to adopt."""
        from safetensors.torch import load_file

        from genrepro import published

        rec = None if self.checkpoint() is not None else self._resumable_record(complete)
        if rec is None:
            return False
        weights = load_file(str(published.verified_file(self.name, WEIGHTS, rec=rec)))
        extra = load_file(str(published.verified_file(self.name, RESUME, rec=rec)))
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, v in extra.items():
            if key.startswith("opt."):
                _, i, field = key.split(".", 2)
                state.setdefault(int(i), {})[field] = v
        r = rec["resume"]
        groups = [{**g, "betas": tuple(g["betas"])} for g in r["param_groups"]]
        st = {"model": weights, "opt": {"state": dict(sorted(state.items())), "param_groups": groups}, "step": r["step"],
              "history": rec["history"], "acc": r["acc"], "gen": extra["gen"], "evals": rec.get("monitor", []),
              "settings": r["settings"]}
        self.last_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.last_path) as f:
            torch.save(st, f)
        self.adopt_devices(rec["provenance"]["trained_on"])
        what = "resuming from" if r["step"] < self.train_config().steps else "taking the checkpoint of"
        print(f"{self.name}: no checkpoint here; {what} its publication at step {r['step']:,}", flush=True)
        return True

    def wall_time_s(self) -> float:
        st = self.checkpoint()
        return sum(h["seconds"] for h in st["history"]) if st else 0.0

    def _match_generator(self, device: torch.device) -> None:
        """Re-seed the saved noise generator from ``(seed, step)`` when ``last.pt`` was written
        on another kind of device (a CPU generator's state does not load into a CUDA one)."""
        st = self.checkpoint()
        fresh = torch.Generator(device=device)
        if st is None or st["gen"].numel() == fresh.get_state().numel():
            return
        seed = 10_007 * self.train_config().seed + 1 + 1_000_003 * st["step"]
        st["gen"] = fresh.manual_seed(seed).get_state()
        with atomic_file(self.last_path) as f:
            torch.save(st, f)
        notes = self.reseeded() + [{"step": st["step"], "device": device.type, "seed": seed}]
        (self.ckpt_dir() / "reseeded.json").write_text(json.dumps(notes))
        print(f"{self.name}: checkpoint of step {st['step']} came from another device type; noise "
              f"generator re-seeded for {device.type} (seed {seed})", flush=True)

    def reseeded(self) -> list[dict]:
        """Where the noise generator was re-seeded on a switch of device (see above)."""
        p = self.ckpt_dir() / "reseeded.json"
        return json.loads(p.read_text()) if p.is_file() else []

    def run(self, budget: Budget, device: torch.device, progress: bool = True) -> Status:
        """Train (resuming from ``last.pt``) until done or the budget ends; a cut between the
        trainer's checkpoints is saved at once, so no step is lost."""
        if self.status().complete:
            return self.status()
        if not self.adopt_published() and self.parent is not None:
            from genrepro.jobs.dcign_extend import adopt_parent

            adopt_parent(self, self.parent, device)
        self.note_device(device)
        self._match_generator(device)
        with cuda_speed(device):
            trainer = Trainer(self.model_config(), self.train_config(), self.source(device), self.ckpt_dir(), device,
                              monitor=self.monitor(device), monitor_every=MONITOR_EVERY)
            try:
                trainer.train(on_step=budget.check, progress=progress)
            except OutOfBudget:
                trainer.save()
        return self.status()

    # -- publishing ------------------------------------------------------------------------------
    def trained_model(self, device: torch.device | str = "cpu") -> tuple[DCIGN, dict]:
        """The checkpoint's network (fp32, eval mode, on ``device``) and the checkpoint."""
        st = self.checkpoint()
        if st is None and self.adopt_published():
            st = self.checkpoint()
        if st is None:
            raise RuntimeError(f"{self.name} has no checkpoint: run `python -m genrepro.train {self.name}`")
        model = DCIGN(self.model_config())
        model.load_state_dict({k: v.float() for k, v in st["model"].items()})
        return model.to(device).eval(), st

    def publish_files(self, out: Path, device: torch.device) -> dict[str, Any]:
        from safetensors.torch import save, save_file

        model, st = self.trained_model(device)
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        dtype = "float32"   # the full net is 15.8 MiB in fp32: fits; sized in memory, written once
        if len(save(weights)) > MAX_FILE_BYTES:
            dtype, weights = "float16", {k: v.half() for k, v in weights.items()}
        save_file(weights, str(out / WEIGHTS))
        hist = st["history"]
        last = hist[-1] if hist else {}
        metrics: dict[str, Any] = {"steps": st["step"], "parameters": sum(v.numel() for v in weights.values()),
                                   **{f"final_{k}": last.get(k) for k in ("loss", "bce", "kl")},
                                   "final_loss_step": last.get("step")}
        if self.data == "chairs":
            metrics.update(self._chairs_test_mse(model))
        resume = None
        # a complete net keeps its resume state only for the jobs that extend it (room: 2.4 MiB a net)
        if dtype == "float32" and (st["step"] < self.train_config().steps or self.name in JOB_EXTENDS.values()):
            state = {"gen": st["gen"].contiguous(),
                     **{f"opt.{i}.{k}": v.detach().cpu().contiguous()
                        for i, s in st["opt"]["state"].items() for k, v in s.items()}}
            # too large to come back from the GPU machine: not written, the next call there starts afresh
            if len(save(state)) <= MAX_FILE_BYTES:
                save_file(state, str(out / RESUME))
                resume = {"step": st["step"], "acc": st["acc"], "settings": st["settings"],
                          "param_groups": st["opt"]["param_groups"]}
        return {"model": "genrepro.dcign.DCIGN", "weights": WEIGHTS, "weights_dtype": dtype,
                "run": self.run_kind, "data": self.data, "dcign_config": asdict(self.model_config()),
                "train_config": asdict(self.train_config()), "source": st["settings"]["source"],
                "reseeded": self.reseeded(), "metrics": metrics, "history": hist,
                "monitor": st.get("evals", []), **({"resume": resume} if resume else {})}

    def _chairs_test_mse(self, model: DCIGN) -> dict[str, Any]:
        """§4.2's test reconstruction MSE per pixel on the held-out chairs, when prepared."""
        from genrepro.data import chairs
        from genrepro.data.prep import DataMissingError
        from genrepro.dcign import reconstruction_mse

        try:
            test = chairs.load_chairs("test", "full")
        except DataMissingError as e:
            return {"test_mse": None, "test_mse_note": f"not computed: {e}"}
        imgs = test.flat()[0]
        mse = reconstruction_mse(model, imgs)
        return {"test_mse": mse if math.isfinite(mse) else None, "test_images": int(len(imgs)),
                "test_models": int(len(test.images))}


def monitor_batches(face_model, size: int, seed: int, device: torch.device | str = "cpu",
                    n: int = MONITOR_BATCHES, light_frame: str = "camera") -> dict[str, list]:
    """``n`` held-out batches per extrinsic factor (split "test": identities never trained on;
    batch indices from ``MONITOR_FIRST_INDEX``, disjoint from the prepared test batches), with
    the light in ``light_frame`` (:class:`~genrepro.data.faces.FaceBatches`)."""
    from genrepro.data import faces

    fb = faces.FaceBatches(face_model, size, "test", seed, device, light_frame=light_frame)
    return {k: [fb.batch(k, MONITOR_FIRST_INDEX + i) for i in range(n)]
            for k in (faces.AZ_VARIED, faces.EL_VARIED, faces.LIGHT_VARIED)}


class SharedBatches:
    """``source``'s batches, rendered once and kept for every network trained on them: the
    chapter's DC-IGN, VAE baseline and mirror-tied runs see the same batches (same seed and
    steps), so the quick profile renders them once instead of three times. Only runs of at most
    ``max_steps`` steps are kept in memory (a 300-step quick run at 64×64 is ≈ 100 MB);
    longer ones pass every call through to ``source``."""

    def __init__(self, source: BatchSource, max_steps: int = 2_000):
        self.source, self.keep = source, getattr(source, "steps", max_steps + 1) <= max_steps
        self._kept: dict[int, Any] = {}

    def settings(self) -> dict:
        return self.source.settings()

    def batch(self, step: int) -> Any:
        if not self.keep:
            return self.source.batch(step)
        if step not in self._kept:
            self._kept[step] = self.source.batch(step)
        return self._kept[step]


def jobs() -> list[DCIGNJob]:
    """The three DC-IGN jobs of the registry."""
    return [DCIGNJob(name) for name in RUNS]


__all__ = ["CUDA_SPEED", "DCIGNJob", "JOB_DATA", "JOB_EXTENDS", "JOB_MODEL", "JOB_TRAIN", "REDUCED_STEPS", "RUNS", "SharedBatches", "cuda_speed", "faces_jobs",
           "jobs", "light_frame", "monitor_batches"]
