"""Deep GMM jobs (van den Oord & Schrauwen 2014, §5): the Figure 4 sweep and Table 1.

One job per net of Figure 4 — ``deepgmm-patches-<sizes>`` on 8×8 patches (4a) and
``deepgmm-tiny-<sizes>`` on tiny images (4b), sizes bottom (z side) first, e.g.
``deepgmm-patches-5-5-200`` — each fitted on the real BSDS300 data of the full profile (500,000
training, 50,000 validation, 250,000 test) with its settings: hard-EM with the §3.3 heuristic,
L-BFGS-B up to 1,000 iterations per node, up to 100 EM iterations, stopped after 5 without
validation gain. A checkpoint after every EM iteration (parameters, assignments, records)
makes a cut job resume with the same seeds and patience count as one uninterrupted fit.

Table 1's rows are three more names (:mod:`genrepro.jobs.deepgmm_pick`), ``deepgmm-gmm``,
``deepgmm-2layer`` and ``deepgmm-3layer``: running one runs the patch nets of its depth; publishing it publishes the
net of that depth with the best exact validation log-likelihood among those fitted so far (the
record lists every candidate and how far each got). The candidates are the sweep's nets of that
depth and, where defined, the same nets fitted with no stop on validation (all 100 EM iterations,
``-nostop``): both are within the settings' "up to 100 EM iterations or a validation-based stop",
and the stop measurement (f) found the patience stop early.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from genrepro import profiles
from genrepro.data.prep import atomic_file
from genrepro.deepgmm.state import model_from_state
from genrepro.deepgmm.experiment import fit_until
from genrepro.deepgmm.model import DeepGMM
from genrepro.jobs.base import RESUME, Budget, Job, Status, check_room, record_only_fields
from genrepro.jobs.deepgmm_score import exact_log_prob

CI_TEST = 2000   # the first test points, re-scored by a test on a CPU in seconds
# A partial net's resume file (jobs.base.RESUME) holds its hard-EM paths: with the weights and history, they make its checkpoint
KINDS = {"patches": "Figure 4a (8×8 patches)", "tiny": "Figure 4b (tiny images)"}
DEPTH_NAMES = {1: "deepgmm-gmm", 2: "deepgmm-2layer", 3: "deepgmm-3layer"}


def splits(kind: str, device: torch.device | str = "cpu", profile: str = "full") -> dict[str, torch.Tensor]:
    """The profile's BSDS300 train / valid / test sets of ``kind`` (never the stand-in)."""
    from genrepro.data.patches import load_patches

    return {k: torch.as_tensor(load_patches(k, profile, kind=kind, source="bsds300").x, device=device)
            for k in ("train", "valid", "test")}


def weights(model: DeepGMM) -> dict[str, torch.Tensor]:
    """A, b and log π of every layer as flat named tensors (for safetensors)."""
    st = model.state_dict()
    out = {f"A{j}": a.contiguous() for j, a in enumerate(st["A"])}
    out.update({f"b{j}": b.contiguous() for j, b in enumerate(st["b"])})
    out["log_pi"] = st["log_pi"].cpu().contiguous()
    return out


def model_from_weights(t: dict[str, torch.Tensor], dim: int, layer_sizes: list[int], reg: float,
                       device: torch.device | str = "cpu") -> DeepGMM:
    k = len(layer_sizes)
    return model_from_state({"dim": dim, "layer_sizes": tuple(layer_sizes), "factorised": False, "reg": reg,
                             "A": [t[f"A{j}"] for j in range(k)], "b": [t[f"b{j}"] for j in range(k)],
                             "log_pi": t["log_pi"]}, device=device)


def as_published(model: DeepGMM, dtype: torch.dtype) -> tuple[dict[str, torch.Tensor], DeepGMM]:
    """The weights of ``model`` in the precision they are published in, and the model they make
    (with ``model``'s history and paths): what a record's scores must be computed from."""
    tensors = {k: v.to(dtype) for k, v in weights(model).items()}
    if dtype == torch.float64:
        return tensors, model
    out = model_from_weights(tensors, model.dim, list(model.layer_sizes), model.reg, model.device)
    out.history, out._paths = model.history, model._paths
    return tensors, out


class DeepGMMNet(Job):
    """One net of the Figure 4 sweep."""

    chapter = "deepgmm"
    datasets = ("bsds300",)
    seed = 0

    def __init__(self, kind: str, layers: tuple[int, ...], profile: str = "full",
                 data: dict[str, torch.Tensor] | None = None):
        """``profile``: whose settings (the jobs use "full"); ``data``: train/valid/test tensors
        to use instead of the profile's BSDS300 sets (tests)."""
        self.kind, self.layers, self.profile, self._data = kind, tuple(layers), profile, data
        self.name = f"deepgmm-{kind}-" + "-".join(map(str, layers))
        self.description = f"Deep GMM {self.layers}, {KINDS[kind]}, BSDS300 500k"
        # patch nets first (Table 1), shallow before deep, small before large
        self.priority = 20 + (0 if kind == "patches" else 10) + len(layers)

    def settings(self) -> tuple[Any, ...]:
        return (self.kind, self.layers, dict(profiles.get("deepgmm", self.profile)),
                dict(profiles.get("deepgmm_data", self.profile)), self.seed)

    def code_modules(self) -> tuple[str, ...]:
        # what the fit runs (the distributed variant and the chapter's helpers are left out)
        return ("genrepro.deepgmm.model", "genrepro.deepgmm.fit", "genrepro.deepgmm.estep",
                "genrepro.deepgmm.mstep", "genrepro.deepgmm.experiment", "genrepro.data.patches")

    @property
    def ckpt_path(self) -> Path:
        return self.ckpt_dir() / "state.pt"

    def checkpoint(self) -> dict | None:
        p = self.ckpt_path
        return torch.load(p, map_location="cpu", weights_only=False) if p.is_file() else None

    def save(self, model: DeepGMM) -> None:
        st = {"state": model.state_dict(), "history": model.history,
              "paths": None if model._paths is None else model._paths.to(torch.int32).cpu()}
        with atomic_file(self.ckpt_path) as f:
            torch.save(st, f)

    def status(self) -> Status:
        S = profiles.get("deepgmm", self.profile)
        st = self.checkpoint()
        if st is None:   # none here: a resumable publication is where the next call starts
            st = self._resumable_record()
        hist = st["history"] if st else []
        converged = bool(hist) and hist[-1].get("stopped") == "patience"
        return Status(len(hist), S.em_iterations, "EM iterations", converged=converged)

    def wall_time_s(self) -> float:
        st = self.checkpoint()
        return sum(r["time_s"] for r in st["history"]) if st else 0.0

    def floor(self) -> float:
        """The covariance floor added to every component (the profile's ``reg``)."""
        return profiles.get("deepgmm", self.profile).reg

    def patience(self) -> int | None:
        """EM iterations without validation gain before the fit stops (None: never; the profile's)."""
        return profiles.get("deepgmm", self.profile).patience

    def new_model(self, train: torch.Tensor, device: torch.device | str) -> DeepGMM:
        """The net before its first EM iteration (k-means on the data side, the other layers near
        the identity: :class:`genrepro.deepgmm.model.DeepGMM`'s defaults)."""
        return DeepGMM(train.shape[1], self.layers, seed=self.seed, init_data=train, reg=self.floor(), device=device)

    def _resumable_record(self) -> dict | None:
        """This net's publication, when made with this code and settings, carrying its weights, and
        either complete or carrying its hard-EM paths (:data:`RESUME`): where a machine without a
        checkpoint starts (a record-only measurement is not: it is refitted)."""
        from genrepro import published

        if self.name not in published.names():
            return None
        rec = published.record(self.name)
        ok = self.accepts_tag(rec["provenance"].get("settings_tag")) and "weights.safetensors" in rec["files"] and \
            (RESUME in rec["files"] or rec["provenance"]["complete"])
        return rec if ok else None

    def from_published(self, rec: dict, device: torch.device | str) -> DeepGMM:
        """The checkpoint a publication of this net carries (``rec`` from
        :meth:`_resumable_record`): weights and history, and for a partial one the hard-EM paths
        of :data:`RESUME`, so a fresh clone on another machine resumes the fit exactly where the
        published one stopped (and a complete one is scored and picked, never refitted)."""
        from genrepro import published

        weights_file = published.verified_file(self.name, "weights.safetensors", rec=rec)
        model = model_from_weights(load_file(str(weights_file)), rec["dim"], rec["layer_sizes"], rec["reg"], device)
        model.history = rec["history"]
        if RESUME in rec["files"]:
            resume_file = published.verified_file(self.name, RESUME, rec=rec)
            model._paths = load_file(str(resume_file))["paths"].to(device=device, dtype=torch.int64)
        return model

    def restore(self, device: torch.device | str, train: torch.Tensor) -> DeepGMM:
        st = self.checkpoint()
        if st is None:
            rec = self._resumable_record()
            if rec is not None:   # no checkpoint here: take the published one's and keep it
                model = self.from_published(rec, device)
                self.save(model)
                self.adopt_devices(rec["provenance"]["trained_on"])
                return model
            return self.new_model(train, device)
        model = model_from_state(st["state"], device=device)
        model.history = st["history"]
        model._paths = None if st["paths"] is None else st["paths"].to(device=device, dtype=torch.int64)
        return model

    def data(self, device: torch.device | str) -> dict[str, torch.Tensor]:
        if self._data is not None:
            return {k: v.to(device) for k, v in self._data.items()}
        return splits(self.kind, device, self.profile)

    def run(self, budget: Budget, device: torch.device, progress: bool = True) -> Status:
        """Fit until converged, 100 EM iterations or the budget (checked after each iteration:
        a call may overrun its budget by one EM iteration)."""
        from genrepro import progress as prog

        S = profiles.get("deepgmm", self.profile)
        if self.status().complete:
            return self.status()
        self.note_device(device)
        x = self.data(device)
        model = self.restore(device, x["train"])
        bar = prog.bar(progress, total=S.em_iterations, initial=len(model.history), desc=self.name, unit="EM it")

        def step(m: DeepGMM, rec: dict) -> None:
            self.save(m)
            bar.update(1)
            bar.set_postfix(valid=f"{rec['valid_best']:.2f}", switch=f"{rec['switch_rate']:.3f}")

        fit_until(model, x["train"], x["valid"], S.em_iterations, self.patience(), S.lbfgs_maxiter, seed=self.seed,
                  warm_passes=S.warm_passes, restart_passes=S.restart_passes, time_limit_s=max(budget.left(), 0),
                  callback=step, resume=list(model.history))
        self.save(model)   # with the last record's stop reason
        bar.close()
        return self.status()

    def evaluate(self, model: DeepGMM, x: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Exact log-likelihoods (all paths, :func:`~genrepro.jobs.deepgmm_score.exact_log_prob`):
        mean valid, mean test ± s.e., and the mean over the first :data:`CI_TEST` test points (what
        a test re-scores from the published weights with ``DeepGMM.log_prob``)."""
        ll = exact_log_prob(model, x["test"])
        return {"valid": float(exact_log_prob(model, x["valid"]).mean()), "test": float(ll.mean()),
                "test_se": float(ll.std() / math.sqrt(len(ll))), "n_test": len(ll),
                "ci_check": {"n_test": CI_TEST, "mean": float(ll[:CI_TEST].mean()),
                             "se": float(ll[:CI_TEST].std() / math.sqrt(CI_TEST))}}

    def weights_dtype(self, complete: bool) -> torch.dtype:
        """The precision the weights are published in: float64 while partial (as fitted, so that
        a resume elsewhere continues exactly), float32 once complete (half the bytes: the
        published set has a size cap; the record's scores are those of the rounded weights, and
        a Table 1 pick names these very bytes)."""
        return torch.float32 if complete else torch.float64

    def keeps_weights(self, complete: bool) -> bool:
        """Whether the publication carries the weights: while partial (a resume elsewhere starts
        from them); once complete, its record only, with the SHA-256 of its float32 weights
        (Figure 4 reads records, and a Table 1 pick carries its chosen net's weights; the
        repository's published set has a size cap)."""
        return not complete

    def published_record(self) -> dict | None:
        """This net's complete publication made with these settings and code, weights kept or
        not (its validation score is that of its weights as published), else None."""
        from genrepro import published

        return published.record(self.name) if self.published_complete() else None

    def publish_files(self, out: Path, device: torch.device) -> dict[str, Any]:
        x = self.data(device)
        model = self.restore(device, x["train"])
        complete = self.status().complete
        dtype = self.weights_dtype(complete)
        tensors, model = as_published(model, dtype)
        keep = self.keeps_weights(complete)
        if keep:
            save_file(tensors, str(out / "weights.safetensors"))
        if not complete and model._paths is not None:   # what a resume elsewhere needs
            p = model._paths
            save_file({"paths": p.to(torch.int16 if int(p.max()) < 2**15 else torch.int32).cpu().contiguous()},
                      str(out / RESUME))
        check_room(self.name, out, out.parent)   # before the exact scores (up to 20 min at 1M patches)
        hist = model.history
        kept = {} if keep else record_only_fields(tensors)
        return {"model": "genrepro.deepgmm.DeepGMM", "kind": self.kind, "layer_sizes": list(self.layers),
                "dim": model.dim, "reg": model.reg, "weights_dtype": str(dtype).removeprefix("torch."), **kept,
                "metrics": {**self.evaluate(model, x), "em_iterations": len(hist),
                            "stopped": hist[-1].get("stopped", "interrupted")},
                "history": hist}


def sweep(kind: str) -> list[DeepGMMNet]:
    """The nets of Figure 4 (a: ``"patches"``, b: ``"tiny"``): 1–3 layers × the top sizes."""
    S = profiles.get("deepgmm", "full")
    tops = S.fig4_tops if kind == "patches" else S.fig4_tiny_tops
    return [DeepGMMNet(kind, (S.fig4_lower,) * (d - 1) + (t,)) for d in (1, 2, 3) for t in tops]


def published_sweep(kind: str, root: Path | None = None) -> list[dict[str, Any]]:
    """Figure 4's points as published: one row per net of :func:`sweep`, with its recorded
    validation and test log-likelihoods, EM iterations and status, or ``published: False``."""
    from genrepro import published

    have = set(published.names(root))
    rows = []
    for net in sweep(kind):
        row: dict[str, Any] = {"name": net.name, "layers": list(net.layers), "published": net.name in have}
        if row["published"]:
            rec = published.record(net.name, root)
            m = rec["metrics"]
            row.update(valid=m["valid"], test=m["test"], test_se=m["test_se"], iterations=m["em_iterations"],
                       stopped=m["stopped"], status=rec["provenance"]["status"], complete=rec["provenance"]["complete"],
                       trained_on=rec["provenance"]["trained_on"])
        rows.append(row)
    return rows
