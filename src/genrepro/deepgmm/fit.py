"""Training loops for the Deep GMM (van den Oord & Schrauwen 2014, §3).

:func:`fit` is the paper's hard-EM (§3.1–3.3): an E-step (the heuristic search of §3.3, or the
exact search over all paths) assigns each point its best path, then :func:`~genrepro.deepgmm.
mstep.m_step` sets π_p = N_p/N and optimises every node with L-BFGS, top layer first. Each
iteration records (in ``model.history`` and the returned list) the mean best-path
log-likelihood per point (the hard-EM objective, after the M-step, with that iteration's
assignments), the exact log-likelihood when n·P·D ≤ ``exact_limit``, the same on ``valid``
(always, under soft EM),
the switch rate (fraction of points whose best path changed), the E-step's path evaluations
per point, L-BFGS iterations and timings — what the chapter's Figure 2 plots.
``e_step="soft"`` runs ordinary (generalised) soft EM with exact responsibilities instead.

:func:`fit_sgd` is the minibatch alternative for deeper nets (§3.3 mentions SGD for large
models): per minibatch, the heuristic E-step (warm-started from each point's last path) and
one Adam step on −mean log N(x | p) w.r.t. all A and b; π_p = N_p/N from the latest
assignments after every epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from genrepro.deepgmm.estep import exact_e_step, heuristic_e_step
from genrepro.deepgmm.model import _LOG2PI, DeepGMM, compose
from genrepro.deepgmm.mstep import PathStats, hard_stats, m_step, set_pi, soft_stats

E_STEPS = ("heuristic", "exact", "soft")


def best_path_score(model: DeepGMM, x: torch.Tensor, paths: torch.Tensor) -> torch.Tensor:
    """log π_p + log N(x_n; μ_p, Σ_p) of each point's own path (flat paths (n,))."""
    lp = model.log_pi.reshape(-1).to(x.dtype)[paths]
    return model.path_log_likelihoods(x, paths) + lp


def _affordable(model: DeepGMM, n: int, limit: float) -> bool:
    return n * model.n_paths * model.dim <= limit


def check_em_args(e_step: str, iterations: int) -> None:
    """The argument checks shared by :func:`fit` and :func:`~genrepro.deepgmm.distributed.
    fit_distributed` (ValueError)."""
    if e_step not in E_STEPS:
        raise ValueError(f"e_step must be one of {E_STEPS}, got {e_step!r}")
    if iterations < 0:
        raise ValueError("iterations must be ≥ 0")


class SingleProcess:
    """What :func:`em_loop` does where the data live — here all in one process (:func:`fit`):
    extra keywords of the heuristic E-step (``train_at``, ``valid_at``: global indexing of the
    random restarts, §3.3), the per-path sufficient statistics of the M-step (§3.2:
    :meth:`local_stats`, then :meth:`combine`) and the means reported in the records
    (:meth:`switched`, :meth:`total`, then :meth:`finish`). ``n``, ``n_valid``: the number of
    points the records average over (and that decides whether exact log-likelihoods are
    affordable). :class:`~genrepro.deepgmm.distributed.Sharded` overrides the methods for
    data sharded over :mod:`torch.distributed` ranks."""

    def __init__(self, n_paths: int, n: int, n_valid: int | None,
                 stats_chunk: int | None = None) -> None:
        self.n_paths, self.n, self.n_valid, self.chunk = n_paths, n, n_valid, stats_chunk
        self.train_at: dict = {}
        self.valid_at: dict = {}

    def local_stats(self, x: torch.Tensor, paths: torch.Tensor, resp: torch.Tensor | None
                    ) -> PathStats | list[PathStats]:
        """Statistics of this process's points: hard (flat ``paths``) or, with ``resp``, soft."""
        return (soft_stats(x, resp, self.chunk) if resp is not None
                else hard_stats(x, paths, self.n_paths, self.chunk))

    def combine(self, local: PathStats | list[PathStats]) -> PathStats:
        """The statistics of all the data from every process's :meth:`local_stats`."""
        return local

    def switched(self, new: torch.Tensor, paths: torch.Tensor | None) -> float:
        """The switch rate's contribution of this process (no previous paths: all switch)."""
        return 1.0 if paths is None else float((new != paths).to(torch.float64).mean())

    def total(self, t: torch.Tensor) -> float:
        """A per-point quantity's contribution of this process to its record mean."""
        return float(t.mean())

    def finish(self, model: DeepGMM, it: int, values: dict[str, float]) -> dict[str, float]:
        """The record's means from this process's :meth:`switched`/:meth:`total` values."""
        return values

    def extras(self) -> dict:
        """Keys appended to each record."""
        return {}


_OPTIONAL = ("train_best", "train_exact", "valid_best", "valid_exact")


def em_loop(model: DeepGMM, x: torch.Tensor, v: torch.Tensor | None, iterations: int,
            e_step: str, via: SingleProcess, callback: Callable[[DeepGMM, dict], None] | None,
            maxiter: int, seed: int, exact_limit: float, kron: bool | None, warm_passes: int,
            restart_passes: int) -> list[dict]:
    """The EM iterations (§3.1–3.3) of :func:`fit` and of :func:`~genrepro.deepgmm.
    distributed.fit_distributed` on checked data ``x`` (and ``v``), with ``via`` deciding
    how statistics and record means are formed (see :class:`SingleProcess`)."""
    paths = model._paths if model._paths is not None and len(model._paths) == len(x) else None
    vpaths = None
    records = []
    for it in range(iterations):
        t0 = time.perf_counter()
        if e_step == "heuristic":
            new, score = heuristic_e_step(model, x, paths, seed + 1000 * it, warm_passes,
                                          restart_passes, **via.train_at)
        else:
            out = exact_e_step(model, x, soft=e_step == "soft")
            new, score = (out[0].argmax(1), out[1]) if e_step == "soft" else out
        evals = model.evaluations
        values = {"switch_rate": via.switched(new, paths)}
        local = via.local_stats(x, new, out[0] if e_step == "soft" else None)
        t1 = time.perf_counter()
        stats = via.combine(local)
        t2 = time.perf_counter()
        info = m_step(model, stats, maxiter=maxiter, kron=kron)
        t3 = time.perf_counter()
        values["train_e_step"] = via.total(score)
        if e_step != "soft":
            values["train_best"] = via.total(best_path_score(model, x, new))
        if _affordable(model, via.n, exact_limit):
            values["train_exact"] = via.total(model.log_prob(x))
        if v is not None:
            if e_step == "heuristic":
                vpaths, vs = heuristic_e_step(model, v, vpaths, seed + 1000 * it + 1, warm_passes,
                                              restart_passes, **via.valid_at)
            else:
                vpaths, vs = exact_e_step(model, v)
            values["valid_best"] = via.total(vs)
            # soft EM pays the exact n·P·D per point on train anyway: always score valid exactly
            if e_step == "soft" or _affordable(model, via.n_valid, exact_limit):
                values["valid_exact"] = via.total(model.log_prob(v))
        means = via.finish(model, it, values)
        rec = {"iteration": len(model.history) + 1, "e_step": e_step,
               "switch_rate": means["switch_rate"], "evaluations": evals,
               "e_step_s": t1 - t0, "m_step_s": t3 - t2, "lbfgs_iterations": info["nit"],
               "kept_nodes": info["kept"], "empty_nodes": info["empty"],
               "live_paths": int((stats.counts > 0).sum()), "train_e_step": means["train_e_step"]}
        rec.update((k, means[k]) for k in _OPTIONAL if k in means)
        rec["time_s"] = time.perf_counter() - t0
        rec.update(via.extras())
        model.history.append(rec)
        records.append(rec)
        paths = new
        model._paths = paths
        if callback is not None:
            callback(model, rec)
    return records


@torch.no_grad()
def fit(model: DeepGMM, x: torch.Tensor | np.ndarray, iterations: int, e_step: str = "heuristic",
        valid: torch.Tensor | np.ndarray | None = None,
        callback: Callable[[DeepGMM, dict], None] | None = None, maxiter: int = 1000,
        seed: int = 0, exact_limit: float = 5e7, kron: bool | None = None,
        warm_passes: int = 1, restart_passes: int = 2, stats_chunk: int | None = None
        ) -> list[dict]:
    """``iterations`` of hard-EM (or soft EM) on ``x`` (n, D); returns this call's records.
    A second call on the same data warm-starts the heuristic from the kept assignments.
    ``stats_chunk``: accumulate the M-step's statistics per block of that many points (see
    :func:`~genrepro.deepgmm.mstep.hard_stats`) — what distributed EM reproduces bit for bit
    (:func:`~genrepro.deepgmm.distributed.fit_distributed`, which runs the same
    :func:`em_loop`)."""
    check_em_args(e_step, iterations)
    x = model._check(x, min_points=model.n_paths)
    v = model._check(valid) if valid is not None else None
    via = SingleProcess(model.n_paths, len(x), None if v is None else len(v), stats_chunk)
    return em_loop(model, x, v, iterations, e_step, via, callback, maxiter, seed, exact_limit,
                   kron, warm_passes, restart_passes)


def _path_nll(A: list[torch.Tensor], b: list[torch.Tensor], x: torch.Tensor,
              paths: torch.Tensor, dim: int) -> torch.Tensor:
    """−mean log N(x_n; μ_{p_n}, A_p A_pᵀ), differentiable w.r.t. A and b (LU solves)."""
    M, mu = compose(A, b, dim)
    used, inv = torch.unique(paths, return_inverse=True)
    Mu, muu = M[used], mu[used]
    logdet = torch.linalg.slogdet(Mu)[1]
    r = torch.linalg.solve(Mu[inv], (x.to(Mu.dtype) - muu[inv]).unsqueeze(-1)).squeeze(-1)
    ll = -0.5 * r.square().sum(1) - logdet[inv] - 0.5 * dim * _LOG2PI
    return -ll.mean()


def fit_sgd(model: DeepGMM, x: torch.Tensor | np.ndarray, epochs: int = 1, batch_size: int = 1000,
            lr: float = 1e-3, valid: torch.Tensor | np.ndarray | None = None,
            callback: Callable[[DeepGMM, dict], None] | None = None, seed: int = 0) -> list[dict]:
    """Minibatch hard-EM with Adam on A and b (see the module docstring); one record per epoch
    with the mean best-path log-likelihood seen by the epoch's E-steps (``train_best``) and,
    with ``valid``, a heuristic E-step on it after the epoch (``valid_best``)."""
    x = model._check(x, min_points=model.n_paths)
    v = model._check(valid) if valid is not None else None
    A = [a.detach().clone().requires_grad_(True) for a in model.A]
    b = [c.detach().clone().requires_grad_(True) for c in model.b]
    opt = torch.optim.Adam(A + b, lr=lr)
    g = torch.Generator()
    g.manual_seed(int(seed))
    n = x.shape[0]
    paths = torch.full((n,), -1, dtype=torch.long, device=model.device)
    records, step = [], 0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g).to(model.device)
        total, switched = 0.0, 0
        for s in range(0, n, batch_size):
            idx = perm[s:s + batch_size]
            xb = x[idx]
            with torch.no_grad():
                model.A, model.b = [a.detach() for a in A], [c.detach() for c in b]
                prev = paths[idx]
                warm = None if bool((prev < 0).any()) else prev
                new, sc = heuristic_e_step(model, xb, warm, seed=seed + 7 * step)
                switched += int((new != prev).sum())
                paths[idx] = new
                total += float(sc.sum())
            loss = _path_nll(A, b, xb, new, model.dim)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        model.A, model.b = [a.detach().clone() for a in A], [c.detach().clone() for c in b]
        set_pi(model, torch.bincount(paths, minlength=model.n_paths))
        rec = {"epoch": len(records) + 1, "train_best": total / n, "switch_rate": switched / n,
               "evaluations": model.evaluations, "time_s": time.perf_counter() - t0}
        if v is not None:
            rec["valid_best"] = float(heuristic_e_step(model, v, None, seed=seed + 1)[1].mean())
        records.append(rec)
        model.history.append({"sgd": True, **rec})
        if callback is not None:
            callback(model, rec)
    model._paths = paths
    return records
