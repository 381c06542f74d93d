"""Distributed hard-EM for the Deep GMM — beyond the paper.

van den Oord & Schrauwen (2014, §3) note that both steps of their EM "can be distributed
easily": the E-step is independent per point, and the M-step needs only each path's
sufficient statistics (count N_p, mean x̄_p, scatter Γ_p), which are sums over points. This
module shows it with :mod:`torch.distributed` (``gloo`` on CPU, ``nccl`` on GPU):

* every worker (rank r of W) holds a contiguous shard of the data, rows
  ``offset:offset + n_r`` of n points (:func:`shard`);
* the E-step runs on the shard only. The heuristic search's random restarts are a function of
  (seed, global point index) — :func:`~genrepro.deepgmm.estep.random_choice` draws the
  restarts of all n points (n·depth small ints) and slices the shard's rows — so a sharded run
  chooses exactly the restarts of a single-process run;
* each rank computes its per-path (count, centred mean, centred scatter) in float64, the
  ranks all-gather them and every rank combines them in rank order with the parallel formula
  of Chan, Golub & LeVeque (1979) (:func:`combine_stats`)::

      N_p = Σ_r N_rp,   x̄_p = Σ_r N_rp x̄_rp / N_p,
      Γ_p = Σ_r Γ_rp + Σ_r N_rp (x̄_rp − x̄_p)(x̄_rp − x̄_p)ᵀ

  which is exact (no raw second moments, so no cancellation) and deterministic — every rank
  sees the same gathered tensors and sums them in the same order;
* every rank then runs the same, deterministic M-step (:func:`~genrepro.deepgmm.mstep.m_step`,
  L-BFGS per node), so the parameters stay bit-identical across ranks without being
  broadcast. ``check_sync`` (on by default) verifies it each iteration with an exact integer
  checksum of the parameters' bits, gathered with the scalar diagnostics (one small
  collective);
* the scalar diagnostics (mean E-step score, switch rate, best-path and exact log-likelihoods)
  are all-gathered as sums and added in rank order, so every rank records the history of a
  single-process run.

Exactness. Combined statistics equal single-process ones only to rounding (~1e-16 relative),
and the M-step's L-BFGS, stopped at a tolerance on nearly flat node objectives, amplifies such
perturbations (measured after 3–5 iterations: 2e-10 to 0.09 on D = 8 toys, O(1) for D = 63 —
the same spread as any other change of summation order, or of torch's thread count, in one
process; a one-layer model, whose M-step is closed-form, stays at ~1e-14). With
``stats_chunk`` = B the statistics are instead accumulated per block of B consecutive points
and folded in global block order across the ranks (:func:`scan_stats`, a pipelined scan),
which is what ``fit(..., stats_chunk=B)`` computes in one process: parameters then agree bit
for bit (measured: 0.0, D = 8 and D = 63, 2 and 3 ranks), for
any number of ranks whose shards start at multiples of B (:func:`shard` with ``align=B``) and
the same torch thread count (torchrun's workers get OMP_NUM_THREADS=1).

Communication per iteration: one all-gather of P(1 + D + D²) doubles per rank (the
statistics; with ``stats_chunk``, W − 1 sends and one broadcast of that size) plus one
all-gather of a few dozen scalars (diagnostics and checksum); the data never move. With W = 1 (no process group)
:func:`fit_distributed` is :func:`~genrepro.deepgmm.fit.fit` (parameters bit-identical).

:func:`~genrepro.deepgmm.dist_check.launch` runs ``torchrun --standalone`` (loopback only) on
:mod:`genrepro.deepgmm.dist_main`; :func:`~genrepro.deepgmm.dist_check.check_against_single`
refits in one process from the same initial parameters and reports the largest parameter
difference. The parameter helpers (checksum, comparison, loading) are in
:mod:`genrepro.deepgmm.state`.
"""

from __future__ import annotations

import datetime
import math
import os
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.distributed as dist

from genrepro.deepgmm.fit import SingleProcess, check_em_args, em_loop
from genrepro.deepgmm.model import DeepGMM
from genrepro.deepgmm.state import param_checksum, param_tensors
from genrepro.deepgmm.mstep import (
    PathStats,
    combine_stats,
    fold_stats,
    hard_stats,
    soft_stats,
)

# -- process group helpers ------------------------------------------------------------------


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the default process group; (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def backend_for(device: torch.device | str) -> str:
    """``nccl`` for CUDA tensors, ``gloo`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def init_distributed(device: torch.device | str = "cpu", timeout_s: float = 120.0) -> tuple[int, int]:
    """Initialise the default process group from torchrun's environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``) with the backend for ``device``;
    a no-op returning (0, 1) when not launched by torchrun (no ``WORLD_SIZE``)."""
    if "WORLD_SIZE" not in os.environ or not dist.is_available():
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device),
                                timeout=datetime.timedelta(seconds=float(timeout_s)))
    return rank_and_world()


def _comm_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_gather(t: torch.Tensor) -> list[torch.Tensor]:
    """The tensor ``t`` (same shape on every rank) of every rank, in rank order, on the CPU;
    ``[t]`` without a process group."""
    if rank_and_world()[1] == 1:
        return [t.cpu()]
    dev = _comm_device()
    t = t.to(dev).contiguous()
    out = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(out, t)
    return [o.cpu() for o in out]


def shard(x: torch.Tensor | np.ndarray, rank: int, world: int, align: int = 1
          ) -> tuple[torch.Tensor | np.ndarray, int]:
    """Rank ``rank``'s contiguous shard of ``x`` and its offset (the global index of its first
    row). Shards are as equal as possible in units of ``align`` rows (the first ranks get one
    unit more), so every offset is a multiple of ``align`` (for ``stats_chunk``)."""
    if not 0 <= rank < world:
        raise ValueError(f"need 0 ≤ rank < world, got {rank}, {world}")
    n = len(x)
    q, r = divmod(-(-n // align), world)
    start = min(n, (rank * q + min(rank, r)) * align)
    stop = min(n, ((rank + 1) * q + min(rank + 1, r)) * align)
    return x[start:stop], start


def _offsets(n_local: int) -> tuple[int, int]:
    """(offset, n_total) of contiguous shards laid out in rank order."""
    sizes = [int(s) for s in torch.cat(all_gather(torch.tensor([n_local], dtype=torch.float64)))]
    rank = rank_and_world()[0]
    return sum(sizes[:rank]), sum(sizes)


# -- statistics -----------------------------------------------------------------------------


def all_gather_stats(stats: PathStats) -> PathStats:
    """Every rank's statistics, combined in rank order (identical on every rank)."""
    if rank_and_world()[1] == 1:
        return stats
    P, D = stats.means.shape
    flat = torch.cat([stats.counts.to(torch.float64).reshape(-1),
                      stats.means.to(torch.float64).reshape(-1),
                      stats.scatters.to(torch.float64).reshape(-1)])
    parts = []
    for g in all_gather(flat):
        parts.append(PathStats(g[:P], g[P:P + P * D].view(P, D), g[P + P * D:].view(P, D, D)))
    return combine_stats(parts)


def _pack(stats: PathStats | None, rows: int, P: int, D: int) -> torch.Tensor:
    head = torch.tensor([float(rows)], dtype=torch.float64)
    if stats is None:
        return torch.cat([head, torch.zeros(P * (1 + D + D * D), dtype=torch.float64)])
    return torch.cat([head, stats.counts.to(torch.float64).reshape(-1),
                      stats.means.to(torch.float64).reshape(-1),
                      stats.scatters.to(torch.float64).reshape(-1)])


def _unpack(flat: torch.Tensor, P: int, D: int) -> tuple[PathStats | None, int]:
    rows, g = int(flat[0]), flat[1:]
    if rows == 0:
        return None, 0
    return PathStats(g[:P], g[P:P + P * D].view(P, D), g[P + P * D:].view(P, D, D)), rows


def scan_stats(parts: Sequence[PathStats], offset: int, n_local: int, P: int, D: int) -> PathStats:
    """The fold (:func:`~genrepro.deepgmm.mstep.fold_stats`) of every rank's per-chunk
    statistics ``parts`` in global order — rank r receives the running statistics of rows
    0:offset from rank r − 1, folds its chunks in and passes them on; the last rank broadcasts
    the total. Bit-identical to ``hard_stats(x, paths, P, chunk)`` on the whole data when every
    offset is a multiple of ``chunk``. Costs W − 1 sequential sends of P(1 + D + D²) doubles
    and one broadcast."""
    rank, world = rank_and_world()
    if world == 1:
        return fold_stats(None, parts)
    dev = _comm_device()
    acc, rows = None, 0
    if rank > 0:
        buf = torch.empty(1 + P * (1 + D + D * D), dtype=torch.float64, device=dev)
        dist.recv(buf, rank - 1)
        acc, rows = _unpack(buf.cpu(), P, D)
    if rows != offset:
        raise RuntimeError(f"rank {rank}: shards are not contiguous in rank order "
                           f"(rows 0:{rows} before offset {offset})")
    acc = fold_stats(acc, parts)
    flat = _pack(acc, offset + n_local, P, D).to(dev)
    if rank < world - 1:
        dist.send(flat, rank + 1)
    dist.broadcast(flat, world - 1)
    out, _ = _unpack(flat.cpu(), P, D)
    return out


# -- parameters -----------------------------------------------------------------------------


def broadcast_parameters(model: DeepGMM, src: int = 0) -> None:
    """Overwrite every rank's parameters with rank ``src``'s (for the initialisation only;
    the EM loop keeps ranks in sync without it). No-op without a process group."""
    if rank_and_world()[1] == 1:
        return
    dev = _comm_device()
    for t in param_tensors(model):
        buf = t.detach().to(dev).contiguous()
        dist.broadcast(buf, src)
        t.copy_(buf.to(t.device))


# -- the distributed fit --------------------------------------------------------------------

_SUMS = ("train_e_step", "switch_rate", "train_best", "train_exact", "valid_best", "valid_exact")


class Sharded(SingleProcess):
    """:func:`~genrepro.deepgmm.fit.em_loop`'s data-dependent parts for this rank's shard (rows
    ``offset:offset + n_local`` of ``n_total``): E-step restarts indexed globally, statistics
    all-gathered and combined (:func:`all_gather_stats`) or, with ``stats_chunk``, folded in
    global order (:func:`scan_stats`), and the records' per-point sums gathered with the
    parameter checksum (``check_sync``) and added in rank order (see the module docstring)."""

    def __init__(self, model: DeepGMM, n_local: int, offset: int, n_total: int,
                 valid_offset: int | None, valid_n_total: int | None,
                 stats_chunk: int | None, check_sync: bool) -> None:
        super().__init__(model.n_paths, n_total, valid_n_total, stats_chunk)
        self.dim, self.offset, self.n_local, self.check_sync = model.dim, offset, n_local, check_sync
        self.rank, self.world = rank_and_world()
        self.train_at = {"offset": offset, "n_total": n_total}
        self.valid_at = {"offset": valid_offset, "n_total": valid_n_total}
        self.comm = 0.0

    def local_stats(self, x: torch.Tensor, paths: torch.Tensor, resp: torch.Tensor | None
                    ) -> PathStats | list[PathStats]:
        """The shard's statistics, or with ``stats_chunk`` those of each of its blocks."""
        c = self.chunk
        if c is None:
            return super().local_stats(x, paths, resp)
        return [soft_stats(x[s:s + c], resp[s:s + c]) if resp is not None else
                hard_stats(x[s:s + c], paths[s:s + c], self.n_paths)
                for s in range(0, len(x), c)]

    def combine(self, local: PathStats | list[PathStats]) -> PathStats:
        t = time.perf_counter()
        out = (all_gather_stats(local) if self.chunk is None else
               scan_stats(local, self.offset, self.n_local, self.n_paths, self.dim))
        self.comm = time.perf_counter() - t
        return out

    def switched(self, new: torch.Tensor, paths: torch.Tensor | None) -> float:
        return float(len(new)) if paths is None else float((new != paths).sum())

    def total(self, t: torch.Tensor) -> float:
        return float(t.to(torch.float64).sum())

    def finish(self, model: DeepGMM, it: int, values: dict[str, float]) -> dict[str, float]:
        t = time.perf_counter()
        # scalar sums of this rank (NaN = not computed), gathered with the parameter checksum
        sums = [values.get(k, math.nan) for k in _SUMS]
        mine = torch.cat([torch.tensor(sums, dtype=torch.float64),
                          param_checksum(model) if self.check_sync else torch.zeros(0, dtype=torch.float64)])
        gathered = all_gather(mine)
        self.comm += time.perf_counter() - t
        if self.check_sync and any(not torch.equal(g[6:], gathered[0][6:]) for g in gathered):
            raise RuntimeError(f"rank {self.rank}: Deep GMM parameters differ across ranks after "
                               f"iteration {it + 1}")
        tot = [0.0] * 6
        for g in gathered:                               # rank order: deterministic
            for k in range(6):
                tot[k] += float(g[k])
        n, nv = self.n, self.n_valid
        means = {"switch_rate": tot[1] / n, "train_e_step": tot[0] / n}
        if "train_best" in values:
            means["train_best"] = tot[2] / n
        if not math.isnan(tot[3]):
            means["train_exact"] = tot[3] / n
        if "valid_best" in values:
            means["valid_best"] = tot[4] / nv
            if not math.isnan(tot[5]):
                means["valid_exact"] = tot[5] / nv
        return means

    def extras(self) -> dict:
        return {"comm_s": self.comm, "world_size": self.world}


@torch.no_grad()
def fit_distributed(model: DeepGMM, x_shard: torch.Tensor | np.ndarray, iterations: int, *,
                    offset: int | None = None, n_total: int | None = None,
                    e_step: str = "heuristic", valid: torch.Tensor | np.ndarray | None = None,
                    valid_offset: int | None = None, valid_n_total: int | None = None,
                    callback: Callable[[DeepGMM, dict], None] | None = None, maxiter: int = 1000,
                    seed: int = 0, exact_limit: float = 5e7, kron: bool | None = None,
                    warm_passes: int = 1, restart_passes: int = 2,
                    stats_chunk: int | None = None, check_sync: bool = True) -> list[dict]:
    """:func:`~genrepro.deepgmm.fit.fit` with data sharded over the ranks of the default
    :mod:`torch.distributed` process group (van den Oord & Schrauwen 2014, §3: "both steps can
    be distributed"): the E-step on the local shard, per-path statistics all-gathered and
    combined exactly in rank order (:func:`combine_stats`) — or, with ``stats_chunk``, folded
    block by block in global order (:func:`scan_stats`) — and the same M-step on every rank.

    ``x_shard`` is rows ``offset:offset + len(x_shard)`` of a data set of ``n_total`` points;
    by default the shards are taken to be contiguous and in rank order (offsets from an
    all-gather of the shard sizes). ``valid`` (optional, on every rank or on none) is likewise
    this rank's shard of the validation set. All ranks must start from the same parameters
    (see :func:`broadcast_parameters`); they stay identical, which ``check_sync`` verifies
    each iteration (RuntimeError otherwise). The records equal those of ``fit`` on the whole
    data (sums of per-rank sums, so to rounding), plus ``world_size`` and ``comm_s``.
    Without a process group (W = 1) the parameters equal ``fit``'s bit for bit.

    The statistics combined in rank order differ from single-process ones by rounding
    (~1e-16 relative), and the M-step's L-BFGS amplifies that: the node objectives are nearly
    flat along some directions, so where L-BFGS stops moves (measured after 3–5 iterations:
    2e-10 to 0.09 on D = 8 toys, O(1) at D = 63 — as much as a different summation order or
    torch thread count moves a single-process fit). ``stats_chunk`` = B removes it:
    statistics are accumulated per block of B points and folded in global order across the
    ranks (:func:`scan_stats`; every offset must be a multiple of B, see :func:`shard`), so
    the parameters equal ``fit(..., stats_chunk=B)``'s bit for bit for any number of ranks
    (barring exact ties in the E-step's per-point scores, which GEMMs of different batch
    sizes round differently)."""
    check_em_args(e_step, iterations)
    x = model._check(x_shard, min_points=0)
    if offset is None or n_total is None:
        o, n = _offsets(len(x))
        offset = o if offset is None else offset
        n_total = n if n_total is None else n_total
    if n_total < model.n_paths:
        raise ValueError(f"need at least {model.n_paths} points (no fewer points than "
                         f"components), got {n_total}")
    if stats_chunk is not None and (stats_chunk < 1 or offset % stats_chunk):
        raise ValueError(f"stats_chunk={stats_chunk} needs shards starting at multiples of it "
                         f"(offset {offset}); use shard(x, rank, world, align=stats_chunk)")
    v = model._check(valid, min_points=0) if valid is not None else None
    if v is not None and (valid_offset is None or valid_n_total is None):
        o, n = _offsets(len(v))
        valid_offset = o if valid_offset is None else valid_offset
        valid_n_total = n if valid_n_total is None else valid_n_total
    via = Sharded(model, len(x), offset, n_total, valid_offset, valid_n_total, stats_chunk,
                  check_sync)
    return em_loop(model, x, v, iterations, e_step, via, callback, maxiter, seed, exact_limit,
                   kron, warm_passes, restart_passes)
